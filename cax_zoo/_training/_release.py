"""Finishing a training run: the model card (metrics, exact command, config), the
released folder (``cax_zoo.release`` under ``--out``) with its media (the loss curve
``training.png`` and a ``preview.gif`` of the trained model, made as ``cax-zoo run``
makes pictures) and the optional Hub upload (which carries the media too)."""

from __future__ import annotations

import json
import platform
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax

if TYPE_CHECKING:
    from ._card import CardSpec


def model_card(
    title: str,
    *,
    summary: str,
    paper: str,
    command: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    notes: str = "",
    usage: str = "",
    name: str | None = None,
    tags: tuple[str, ...] = (),
    spec: CardSpec | None = None,
) -> str:
    """A model card stating what was trained, how, and what was measured: Hub YAML front
    matter (``library_name``, licence, tags, datasets, ``model-index`` from ``metrics``;
    see ``cax_zoo/_training/_card.py``) above the Markdown. ``name`` (default: the first
    word of ``title``) is the released name; machine-local paths in ``command`` are made
    relative. ``spec`` (a :class:`~cax_zoo.training.CardSpec`) says which metrics are
    results and which command reproduces them; by default the one the model's family
    declares at registration."""
    from ._card import card_data, card_spec, eval_command, portable_command, with_front_matter

    name = name or title.split()[0].rstrip(":")
    family = name.split("/")[0]
    spec = spec if spec is not None else card_spec(name, family)
    command = portable_command(command, name)
    device = f"{jax.default_backend()} ({platform.processor() or platform.machine()})"
    lines = [
        f"# {title}", "", summary, "", f"Paper: {paper}", "",
        "## Metrics (measured at the end of training)", "",
        "| metric | value |", "|---|---|",
    ]
    for k, v in metrics.items():
        lines.append(f"| {k} | {json.dumps(v) if not isinstance(v, float) else f'{v:.6g}'} |")
    reproduce = eval_command(name, family, metrics, spec=spec)
    if reproduce:
        lines += ["", f"Reproduce them: `{reproduce}`."]
    lines += ["", "## How it was trained", "", "```", command, "```", "",
              f"Device: {device}.", "", "Config:", "", "```json",
              json.dumps(dict(config), indent=2, sort_keys=True), "```", ""]
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    if usage:
        lines += ["## Usage", "", "```python", usage.strip(), "```", ""]
    return with_front_matter("\n".join(lines), card_data(name, family, metrics, paper=paper, tags=tags, spec=spec))


PREVIEW_GIF = "preview.gif"
MAX_MEDIA_BYTES = 300_000  # a picture larger than this is left out of the release (with a warning)


def preview_gif(module, name: str, run_args: Sequence[str]) -> bytes:
    """A GIF of ``module`` made exactly as ``cax-zoo run NAME *run_args --out X.gif`` makes
    one of the model it loads (the same code, given this module instead)."""
    from .._cli import run_to_file

    with tempfile.TemporaryDirectory(prefix="cax_zoo_preview_") as tmp:
        out = Path(tmp) / PREVIEW_GIF
        run_to_file(module, name, list(run_args), out)
        return out.read_bytes()


def release_media(module, name: str, *, history: Sequence[Sequence[float]] | None = None,
                  run_args: Sequence[str] | None = None) -> dict[str, bytes]:
    """The figures a release carries, as ``{file name: bytes}``: ``training.png`` (the loss
    against the step, from ``history``, ``[[step, loss], ...]``) and ``preview.gif`` (the
    model run with the ``cax-zoo run`` arguments ``run_args``). A figure that cannot be
    made (no matplotlib, an empty history) or is over :data:`MAX_MEDIA_BYTES` is left out
    with a warning: a release never fails for want of a picture."""
    from ._plots import training_figures

    files: dict[str, bytes] = {}
    if history:
        files.update(training_figures(history, title=f"{name}: training loss"))
    if run_args is not None:
        files[PREVIEW_GIF] = preview_gif(module, name, run_args)
    for filename, data in list(files.items()):
        if len(data) > MAX_MEDIA_BYTES:
            warnings.warn(f"{filename} of {name} is {len(data)} bytes (over {MAX_MEDIA_BYTES}); left out of "
                          "the release (fewer frames: a larger --every, fewer --steps)", stacklevel=2)
            del files[filename]
    return files


def release_run(module, name: str, *, root: str | Path, card: str, metrics: Mapping[str, Any],
                push_to_hub: str | None = None, overwrite: bool | None = None,
                files: Mapping[str, bytes] | None = None, history: Sequence[Sequence[float]] | None = None,
                run_args: Sequence[str] | None = None) -> Path:
    """Release ``module`` as ``root/<name>/`` (with a manifest entry) and optionally push it.

    The folder gets the media of :func:`release_media` (``training.png`` from ``history``,
    ``preview.gif`` from ``run_args``) beside any extra ``files``. An existing release
    there is replaced only with ``overwrite`` (default: the ``--overwrite`` flag of the
    run that :func:`begin` started on ``root``)."""
    from .._pretrained import push_to_hub as push, release
    from ._card import with_pictures
    from ._plots import TRAINING_PLOT
    from ._recipe_cli import begun_run

    if overwrite is None:
        run = begun_run(root)
        overwrite = bool(run is not None and run.overwrite)
    media = release_media(module, name, history=history, run_args=run_args)
    card = with_pictures(card, {k: v for k, v in ((PREVIEW_GIF, f"{name}, as `cax-zoo run` shows it"),
                                                  (TRAINING_PLOT, "training loss")) if k in media})
    files = {**media, **(files or {})}
    folder = release(module, name, card=card, metrics=dict(metrics), root=root, overwrite=overwrite,
                     files=files)
    print(f"released {name} to {folder}")
    if push_to_hub:
        url = push(folder, push_to_hub)
        print(f"pushed to {url}")
    return folder
