"""MkDocs hook (``hooks:`` in mkdocs.yml): make every picture of the docs while the site
is built, with ``scripts/make_media.py``, and add them to the site under ``media/``; and
write one API reference page per public module (``cax_zoo`` and each ``cax_zoo/<name>.py``
without a leading underscore), rendered from docstrings by mkdocstrings and appended to
the navigation, so a new public module gets its page without editing anything here.

Nothing is committed, so no picture can go stale: each build draws them from the code it
documents. ``mkdocs serve`` makes them once per process. ``CAX_ZOO_DOCS_MEDIA=DIR`` reuses
pictures already made into ``DIR`` by ``python scripts/make_media.py DIR``.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.plugins.cax_zoo_media")
PACKAGE = Path(__file__).resolve().parents[1] / "cax_zoo"
_MADE: dict[str, Path] = {}


def _make_media_module():
    """``scripts/make_media.py``, imported by name (its worker processes import it again)."""
    folder = str(Path(__file__).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("make_media")


def _media_folder() -> Path:
    given = os.environ.get("CAX_ZOO_DOCS_MEDIA")
    if given:
        return Path(given)
    if "folder" not in _MADE:
        folder = Path(tempfile.mkdtemp(prefix="cax_zoo_media_"))
        t0 = time.perf_counter()
        _make_media_module().make_all(folder, verbose=False)
        log.info("made the docs pictures in %.1f s", time.perf_counter() - t0)
        _MADE["folder"] = folder
    return _MADE["folder"]


def family_pictures(family: str) -> str:
    """The picture strip put under a family page's title: every registered model of the
    family, with the ``cax-zoo run`` commands that made the pictures."""
    import cax_zoo

    media = _make_media_module()
    members = [n for n in cax_zoo.list_models() if (n == family or n.startswith(family + "/"))
               and not media.borrowed(n)]  # a family shown by its released model: that once
    if not members:
        raise ValueError(f"docs/families/{family}.md documents no registered model")
    names = [n for n in members if media.pictured(n)]
    untrained = "".join(f"![{n}: the set-up, untrained](../media/zoo/{media.slug(n)}-setup.png)\n\n"
                        f"*`{n}` has no released weights yet (train one: `cax-zoo train {n}`); above, "
                        "the state it starts from.*\n\n" for n in members if n not in names)
    if not names:
        return untrained
    images = " ".join(f"![{n}](../media/zoo/{media.slug(n)}.gif){{ title=\"{n}\" }}" for n in names)
    commands = "\n".join(f"    {media.command(n)}" for n in names)
    return (f'<div class="media-row" markdown>\n{images}\n</div>\n\n{untrained}'
            f'??? example "How these pictures were made (shown reduced to thumbnails)"\n\n'
            f'    ```bash\n{commands}\n    ```\n')


def on_page_markdown(markdown, page, config, files):
    uri = page.file.src_uri
    if not (uri.startswith("families/") and uri.endswith(".md")):
        return markdown
    title, _, rest = markdown.partition("\n")
    return f"{title}\n\n{family_pictures(Path(uri).stem)}\n{rest}"


def public_modules() -> list[str]:
    """``cax_zoo`` and its public submodules (``cax_zoo.blocks``, ``cax_zoo.training``, ...)."""
    subs = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    subs += sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("_")
                   and (p / "__init__.py").is_file())
    return ["cax_zoo"] + [f"cax_zoo.{s}" for s in subs]


def public_names(module: str) -> list[str]:
    """The public names of ``module``, in the order it defines or re-exports them (``__all__``
    when it has one): the re-exports ``from ._x import f as f`` that mkdocstrings would skip."""
    import __future__
    import importlib
    import inspect

    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    return [n for n in names if not inspect.ismodule(getattr(mod, n, None))
            and not isinstance(getattr(mod, n, None), __future__._Feature)]  # from __future__ import ...


def api_page(module: str) -> str:
    members = "".join(f"        - {n}\n" for n in public_names(module))
    return f"# `{module}`\n\n::: {module}\n    options:\n      members:\n{members}"


def on_config(config):
    config["nav"].append({"API reference": [{m: f"api/{m}.md"} for m in public_modules()]})
    return config


def on_files(files, config):
    for module in public_modules():
        files.append(File.generated(config, f"api/{module}.md", content=api_page(module)))
    folder = _media_folder()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        files.append(File.generated(config, f"media/{rel}", abs_src_path=str(path)))
    return files


def on_shutdown():
    folder = _MADE.pop("folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
