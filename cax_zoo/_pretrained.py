"""Pretrained models: load, save, release and push, on top of the registry (names ->
factories) and the Hub client (files), like timm's ``_factory`` over ``_registry`` and
``_hub``.

Where a model comes from is explicit in its name:

- a registered name (``"life"``, ``"lenia/orbium"``, ``"mnist_self_classify"``): built by
  its factory, with its released weights (``weights/<name>/``, sha256-checked against the
  manifest) when it has some;
- ``"hf://user/repo"``: a Hugging Face Hub repo, through the Hub cache;
- a local folder written by :func:`save_pretrained` or :func:`release` (a path that exists).

A bare ``"user/repo"`` is still read as a Hub repo when it cannot be anything else (its
namespace is no registered family and no such folder exists); otherwise the error says to
write ``hf://``. Every file that is loaded is verified: the manifest's sha256 for
releases, the blob hash of the Hub cache and the config's recorded ``weights_sha256`` for
downloads, and NaN/inf values are refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ._atomic import atomic_write_bytes
from ._automaton import AbstractAutomaton
from ._errors import ConfigError, UnknownModelError, WeightsError
from ._hub import HUB_PREFIX, MEDIA_PATTERNS, check_repo_id, check_revision, download, upload_folder
from ._registry import _ENTRIES, _unknown_message, create, family_name, get_entry
from ._validation import check_config
from ._weights import (
    CARD_FILE,
    CONFIG_FILE,
    MANIFEST_FILE,
    WEIGHTS_FILE,
    check_manifest_entry,
    config_json,
    folder_hashes,
    has_release,
    load_weights,
    manifest_text,
    read_config,
    read_manifest,
    release_folder,
    save_weights,
    sha256_file,
    verify_folder,
    weights_root,
)

WEIGHTS_SHA256 = "weights_sha256"  # config.json field: the sha256 of model.safetensors
_SKELETON_KEY_SEED = 0  # a skeleton's random values are all replaced by the weight file's


def pretrained_folder(name: str) -> Path | None:
    """``weights/<name>/`` if that model is released, else None."""
    return release_folder(name) if has_release(name) else None


def picture_source(name: str) -> str | None:
    """The registered model whose run pictures ``name``: ``name`` itself when it is a
    classic model or has released weights; for a learned family with no weights of its own,
    its first released entry (``growing_nca`` -> ``growing_nca/lizard``); None when nothing
    learned of it is released (an untrained network draws nothing worth showing)."""
    from ._registry import get_entry, list_models

    if not get_entry(name).learned or pretrained_folder(name):
        return name
    released = [n for n in list_models() if n.startswith(name + "/") and pretrained_folder(n)]
    return released[0] if released else None


# ------------------------------------------------------------------ folders


def save_pretrained(
    module: AbstractAutomaton,
    folder: str | os.PathLike,
    *,
    card: str | None = None,
    name: str | None = None,
    metrics: dict[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``model.safetensors``, ``config.json`` (recording the weights' sha256) and
    ``README.md`` to ``folder``, plus any extra ``files`` (figures: ``{name: bytes}``).

    Each file is written atomically; other files in the folder are left alone.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    family = family_name(module)
    extra: dict[str, Any] = {}
    if name is not None:
        extra["name"] = name
    if metrics:
        extra["metrics"] = metrics
    for filename in files or {}:
        if filename in (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE) or Path(filename).name != filename \
                or filename.startswith("."):
            raise ConfigError(f"extra release file name {filename!r} must be a plain, new file name")
    save_weights(module, folder / WEIGHTS_FILE)
    extra[WEIGHTS_SHA256] = sha256_file(folder / WEIGHTS_FILE)
    atomic_write_bytes(folder / CONFIG_FILE, config_json(family, module.config(), **extra).encode())
    if card is None:
        card = f"# {name or family}\n\nA `{family}` model saved by cax_zoo.\n"
    atomic_write_bytes(folder / CARD_FILE, card.encode())
    for filename, data in (files or {}).items():
        atomic_write_bytes(folder / filename, bytes(data))
    return folder


def _rebuild(data: dict[str, Any], overrides: dict[str, Any], source: str) -> AbstractAutomaton:
    family = data["family"]
    if family not in _ENTRIES or _ENTRIES[family].family is None:
        raise WeightsError(f"{source}: unknown family {family!r} (is this cax_zoo too old?)")
    if "key" in overrides:
        raise ConfigError("key= builds a fresh model; a saved model's parameters come from its weight file")
    entry = _ENTRIES[family]
    check_config(family, data["config"], entry.factory)  # JSON-only, bounded, known fields
    key = jax.random.PRNGKey(_SKELETON_KEY_SEED) if entry.learned else None
    return create(family, key=key, **{**data["config"], **overrides})


def load_pretrained(
    folder: str | os.PathLike, *, expected_sha256: dict[str, str] | None = None, **config: Any
) -> AbstractAutomaton:
    """Rebuild a module from a folder written by :func:`save_pretrained`.

    The weights are checked against ``expected_sha256`` (a manifest entry) when given, and
    against the sha256 that ``config.json`` records when it records one. ``config``
    overrides entries of ``config.json``; every array comes from the weight file, so an
    override that would change one is refused (ConfigError).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"model folder not found: {folder}")
    if expected_sha256 is not None:
        verify_folder(folder, expected_sha256)
    data = read_config(folder / CONFIG_FILE)
    source = str(folder / CONFIG_FILE)
    recorded = data.get(WEIGHTS_SHA256)
    if recorded is not None:
        if not isinstance(recorded, str):
            raise WeightsError(f"{source}: {WEIGHTS_SHA256} must be a hex string")
        verify_folder_file(folder / WEIGHTS_FILE, recorded)
    skeleton = _rebuild(data, config, source)
    if config:
        _refuse_array_overrides(skeleton, data, config, source)
    return load_weights(skeleton, folder / WEIGHTS_FILE)


def verify_folder_file(path: Path, digest: str) -> None:
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    actual = sha256_file(path)
    if actual != digest.lower():
        raise WeightsError(
            f"{path} fails its sha256 check against {CONFIG_FILE} (expected {digest[:12]}..., got "
            f"{actual[:12]}...): the file is corrupt or has been modified"
        )


def _refuse_array_overrides(skeleton, data, overrides, source) -> None:
    """Arrays live in the weight file only: an override that would change one (a rule
    table, a kernel, a seeded matrix) is refused instead of being silently undone by the
    file. An array counts as config-derived when two builds from the saved config agree
    on it (it is not random initialisation) and the overridden build differs."""
    base_a, base_b = _rebuild(data, {}, source), _rebuild(data, {}, source)
    paths = [jax.tree_util.keystr(p) for p, _ in
             jax.tree_util.tree_flatten_with_path(eqx.filter(skeleton, eqx.is_array))[0]]
    leaves = [jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array)) for m in (skeleton, base_a, base_b)]
    if len({len(x) for x in leaves}) != 1:
        changed = ["the model's arrays"]
    else:
        changed = [path for path, new, a, b in zip(paths, *leaves)
                   if a.shape == b.shape and bool(jnp.array_equal(a, b))
                   and (a.shape != new.shape or not bool(jnp.array_equal(a, new)))]
    if changed:
        raise ConfigError(
            f"{source}: overriding {', '.join(sorted(overrides))} would change {', '.join(changed[:4])}, "
            "which the weight file holds; build the changed model with cax_zoo.create(...) instead"
        )


# ------------------------------------------------------------------ releases


def release(module: AbstractAutomaton, name: str, *, card: str, metrics: dict | None = None,
            root: str | os.PathLike | None = None, overwrite: bool = False,
            files: Mapping[str, bytes] | None = None) -> Path:
    """Save ``module`` as the released model ``name`` (``root/<name>/``, default the
    package's ``weights/``) and record its hashes in the manifest, which :func:`load`
    verifies.

    An existing release of ``name`` is replaced only with ``overwrite=True``. The new
    folder is written aside and swapped in with the manifest, so a failure at any point
    leaves the previous release and manifest as they were.
    """
    get_entry(name)
    root = Path(root) if root is not None else weights_root()
    final = release_folder(name, root)
    if has_release(name, root) and not overwrite:
        raise WeightsError(f"{final} already holds a release of {name}; pass overwrite=True "
                           "(--overwrite) to replace it, or release into another folder")
    if final.exists() and not final.is_dir():
        raise WeightsError(f"{final} is a file, not a release folder")
    manifest = read_manifest(root)  # a corrupt manifest stops here, before anything is written
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.new-"))
    backup: Path | None = None
    manifest_tmp: str | None = None
    try:
        save_pretrained(module, stage, card=card, name=name, metrics=metrics, files=files)
        manifest[name] = folder_hashes(stage)
        fd, manifest_tmp = tempfile.mkstemp(dir=root, prefix=f".{MANIFEST_FILE}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(manifest_text(manifest).encode())
            f.flush()
            os.fsync(f.fileno())
        if final.exists():
            backup = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
            os.rmdir(backup)
            os.rename(final, backup)
        os.rename(stage, final)
        nested = _move_nested(backup, final) if backup is not None else []
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(manifest_tmp, 0o666 & ~umask)
            os.replace(manifest_tmp, root / MANIFEST_FILE)
            manifest_tmp = None
        except BaseException:
            _move_nested(final, backup, nested)
            os.rename(final, stage)
            if backup is not None:
                os.rename(backup, final)
                backup = None
            raise
    finally:
        if manifest_tmp is not None and os.path.exists(manifest_tmp):
            os.unlink(manifest_tmp)
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
        if backup is not None and backup.exists():
            shutil.rmtree(backup, ignore_errors=True)
    return final


def _move_nested(src: Path, dst: Path, names: list[str] | None = None) -> list[str]:
    """Move the releases nested in the release folder ``src`` (its visible subfolders,
    e.g. ``arc1d_nca/cax`` inside ``arc1d_nca``; a release's own files are plain files)
    into ``dst``, so replacing a release keeps the ones inside it. Returns their names."""
    names = names if names is not None else sorted(
        p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
    for n in names:
        os.rename(src / n, dst / n)
    return names


# ------------------------------------------------------------------ names


def _is_local_folder(name: str | os.PathLike) -> bool:
    try:
        return Path(name).is_dir() and (Path(name) / CONFIG_FILE).is_file()
    except (OSError, ValueError):  # a name too long for a path, or holding a NUL byte
        return False


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "/", "~"))
        or "\\" in name
        or ".." in name
        or name.count("/") > 1
        or os.path.isabs(name)
    )


def resolve(name: Any) -> tuple[str, str]:
    """Where a model name points: ``("registry", name)``, ``("hub", repo_id)`` or
    ``("folder", path)``; anything else raises UnknownModelError with a hint."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {type(name).__name__}")
    if name.startswith(HUB_PREFIX):
        return "hub", check_repo_id(name[len(HUB_PREFIX):])
    if name in _ENTRIES:
        return "registry", name
    if _is_local_folder(name):
        if _looks_like_path(name) or name.count("/") != 1:
            return "folder", name
        raise UnknownModelError(f"{name!r} is both a local folder and a Hub repo id: write "
                                f"'./{name}' for the folder or '{HUB_PREFIX}{name}' for the Hub repo")
    if _looks_like_path(name) or Path(name).exists():
        raise UnknownModelError(
            f"{name!r} looks like a path, but is no model folder (one with a {CONFIG_FILE}); a name is a "
            f"registered model (cax-zoo list), a Hub repo ({HUB_PREFIX}user/repo) or such a folder"
        )
    if name.count("/") == 1:
        namespace = name.split("/")[0]
        namespaces = {n.split("/")[0] for n in _ENTRIES}
        if namespace not in namespaces:
            try:
                return "hub", check_repo_id(name)
            except Exception:
                pass
        raise UnknownModelError(_unknown_message(name) + f"; for a Hub repo write '{HUB_PREFIX}{name}'")
    raise UnknownModelError(_unknown_message(name))


def load(name: str, *, pretrained: bool | None = None, revision: str | None = None, key: Any = None,
         **config: Any) -> AbstractAutomaton:
    """A ready-to-run model: its rollout and step are jitted and its weights, if any, are
    loaded after an integrity check.

    ``name`` is a registered name (``"life"``, ``"lenia/orbium"``), a Hugging Face Hub repo
    ``"hf://user/repo"`` (with an optional ``revision``), or a local folder written by
    :func:`save_pretrained` / :func:`release`. Rule families take their rule as config:
    ``load("life", rule="B36/S23")``.

    ``pretrained``: ``None`` (default) loads the released weights when the model has some,
    and is an error for a model with learned parameters but no weights; ``True`` requires
    weights; ``False`` is :func:`create` (a fresh model; learned models need ``key``).
    """
    kind, target = resolve(name)
    if revision is not None and kind != "hub":
        raise ConfigError(f"revision={revision!r} applies to Hub repo ids ({HUB_PREFIX}user/repo), "
                          f"not to {name!r}")
    if kind != "registry" and (pretrained is False or key is not None):
        raise ConfigError(f"{name!r} is a saved model; pretrained=False and key= apply to registered names")
    if kind == "hub":
        check_revision(revision)
        folder, verified = download(target, revision=revision)
        data = read_config(folder / CONFIG_FILE)
        if not verified.get(WEIGHTS_FILE) and not isinstance(data.get(WEIGHTS_SHA256), str):
            raise WeightsError(
                f"Hub repo {target!r}: {WEIGHTS_FILE} cannot be verified (it is not a content-addressed "
                f"blob in the cache and {CONFIG_FILE} records no {WEIGHTS_SHA256}); re-upload it "
                "with cax_zoo.push_to_hub"
            )
        return load_pretrained(folder, **config)
    if kind == "folder":
        return load_pretrained(target, **config)
    entry = get_entry(target)
    if pretrained is False:
        return create(target, key=key, **config)
    if has_release(target):
        if key is not None:
            raise ConfigError(f"{target} loads released weights; key= is for a fresh model "
                              "(pretrained=False or cax_zoo.create)")
        root = weights_root()
        manifest = read_manifest(root)
        if target not in manifest:
            raise WeightsError(f"{release_folder(target)} has no sha256 record in {root / MANIFEST_FILE}")
        expected = check_manifest_entry(manifest[target], source=f"{root / MANIFEST_FILE} [{target}]")
        return load_pretrained(release_folder(target), expected_sha256=expected, **config)
    if pretrained or entry.learned:
        trained = [n for n in _ENTRIES if n.startswith(target.split("/")[0]) and n != target and has_release(n)]
        hint = f"; released models of this family: {', '.join(sorted(trained))}" if trained else ""
        raise WeightsError(
            f"{target} has no released weights in {weights_root()}{hint}; "
            f"cax_zoo.create({target!r}, key=...) builds an untrained one"
        )
    return create(target, key=key, **config)


# ------------------------------------------------------------------ Hub upload


def push_to_hub(
    name_or_folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    api=None,
) -> str:
    """Upload a released model (``weights/<name>/``) or any saved folder to ``repo_id``.

    The repo id and revision are checked first, then the folder (its three files exist and
    it loads), so a broken model is never uploaded. The uploaded ``config.json`` records the
    weights' sha256, which :func:`load` verifies after download. Returns the commit URL.
    ``api`` is a ``huggingface_hub.HfApi``.
    """
    check_repo_id(repo_id)
    check_revision(revision)
    folder = _resolve_folder(name_or_folder)
    missing = [f for f in (WEIGHTS_FILE, CONFIG_FILE, CARD_FILE) if not (folder / f).is_file()]
    if missing:
        raise WeightsError(f"{folder} lacks {', '.join(missing)}; nothing was uploaded")
    load_pretrained(folder)  # raises on a corrupt folder
    with tempfile.TemporaryDirectory(prefix="cax_zoo_push_") as tmp:
        stage = Path(tmp) / folder.name
        stage.mkdir()
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                shutil.copyfile(path, stage / path.name)
        data = json.loads((stage / CONFIG_FILE).read_text(encoding="utf-8"))
        data[WEIGHTS_SHA256] = sha256_file(stage / WEIGHTS_FILE)
        (stage / CONFIG_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return upload_folder(stage, repo_id, token=token, private=private, revision=revision,
                             commit_message=commit_message or f"Upload {folder.name} with cax_zoo", api=api,
                             allow_patterns=(WEIGHTS_FILE, CONFIG_FILE, CARD_FILE, *MEDIA_PATTERNS))


def _resolve_folder(name_or_folder: str | os.PathLike) -> Path:
    as_path = Path(name_or_folder)
    if as_path.is_dir():
        return as_path
    name = str(name_or_folder)
    get_entry(name)  # unknown names raise with suggestions
    if not has_release(name):
        raise WeightsError(f"{name!r} has no released weights folder to push")
    return release_folder(name)
