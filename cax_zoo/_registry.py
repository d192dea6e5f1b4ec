"""The zoo's registry: model names -> factories, and loading released weights by name.

The registry knows nothing of any family: a family registers its class under its family
name, a preset (a creature, a pretrained model) registers a factory function under its
own name. ``config.json`` files name the family, so any folder rebuilds through it.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp


from ._automaton import AbstractAutomaton
from ._errors import ConfigError, UnknownModelError, WeightsError
from ._weights import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    atomic_write_bytes,
    config_json,
    load_weights,
    read_config,
    read_manifest,
    record_in_manifest,
    save_weights,
    verify_folder,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-]*)?$")
_HUB_ID = re.compile(r"^(hf://)?[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registry entry."""

    name: str
    factory: Callable[..., AbstractAutomaton]
    description: str = ""
    family: str | None = None  # set when ``factory`` is a family class
    tags: tuple[str, ...] = ()
    paper: str | None = None
    recipe: str | None = None  # importable module path of the training recipe
    evaluate: Callable[..., dict] | None = None  # ``evaluate(model, **options) -> metrics``


_ENTRIES: dict[str, Entry] = {}
_FAMILY_OF_CLASS: dict[type, str] = {}


def register(
    name: str,
    *,
    description: str = "",
    tags: tuple[str, ...] = (),
    paper: str | None = None,
    recipe: str | None = None,
    evaluate: Callable[..., dict] | None = None,
):
    """Decorator: register a family class or a factory function under ``name``.

    A class registers a family (``config.json`` files refer to it by that name); a
    function registers a preset whose keyword arguments override its defaults.
    """
    if not _NAME.match(name):
        raise ConfigError(f"invalid model name {name!r}: use lower-case letters, digits, _ and -, "
                          "with at most one '/'")

    def decorate(obj):
        if name in _ENTRIES and _ENTRIES[name].factory is not obj:
            raise ConfigError(f"model name {name!r} is already registered")
        is_family = isinstance(obj, type)
        if is_family:
            if not issubclass(obj, AbstractAutomaton):
                raise ConfigError(f"{obj.__name__} is not an AbstractAutomaton")
            _FAMILY_OF_CLASS[obj] = name
        doc = description or ((obj.__doc__ or "").strip().splitlines() or [""])[0]
        _ENTRIES[name] = Entry(name, obj, doc, name if is_family else None, tuple(tags), paper,
                               recipe, evaluate)
        return obj

    return decorate


def family_name(module: AbstractAutomaton) -> str:
    """The registered family name of a module's class."""
    try:
        return _FAMILY_OF_CLASS[type(module)]
    except KeyError:
        raise ConfigError(f"{type(module).__name__} is not a registered family") from None


def get_entry(name: str) -> Entry:
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {type(name).__name__}")
    if name in _ENTRIES:
        return _ENTRIES[name]
    raise UnknownModelError(_unknown_message(name))


def _unknown_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(_ENTRIES), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown model {name!r}{hint} (cax-zoo list shows every model)"


def weights_root() -> Path:
    """The folder of released weights: ``$CAX_ZOO_WEIGHTS`` if set, else the ``weights/``
    shipped in the package (wheel) or beside it (editable install, source checkout)."""
    env = os.environ.get("CAX_ZOO_WEIGHTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "weights", here.parent / "weights"):
        if candidate.is_dir():
            return candidate
    return here / "weights"


def pretrained_folder(name: str) -> Path | None:
    """``weights/<name>/`` if that model is released, else None."""
    folder = weights_root() / name
    return folder if (folder / CONFIG_FILE).is_file() else None


def list_models(pattern: str | None = None, pretrained: bool | None = None) -> list[str]:
    """Registered names, sorted; ``pattern`` is a shell glob (``"lenia/*"``), and
    ``pretrained`` keeps only models with (True) or without (False) released weights."""
    names = sorted(_ENTRIES)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if pretrained is not None:
        names = [n for n in names if (pretrained_folder(n) is not None) == pretrained]
    return names


def create(name: str, **config: Any) -> AbstractAutomaton:
    """A fresh module from the registered factory (random init for neural families)."""
    entry = get_entry(name)
    try:
        return entry.factory(**config)
    except TypeError as e:
        # unknown keyword arguments: name them instead of a bare TypeError
        if "unexpected keyword argument" in str(e) or "got an unexpected" in str(e):
            raise ConfigError(f"{name}: {e}") from None
        raise


def _rebuild(data: dict[str, Any], overrides: dict[str, Any], source: str) -> AbstractAutomaton:
    family = data["family"]
    if family not in _ENTRIES or _ENTRIES[family].family is None:
        raise WeightsError(f"{source}: unknown family {family!r} (is this cax_zoo too old?)")
    return create(family, **{**data["config"], **overrides})


def save_pretrained(
    module: AbstractAutomaton,
    folder: str | os.PathLike,
    *,
    card: str | None = None,
    name: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors``, ``config.json`` and ``README.md`` to ``folder``.

    Each file is written atomically; other files in the folder are left alone.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    family = family_name(module)
    extra: dict[str, Any] = {}
    if name is not None:
        extra["name"] = name
    if metrics:
        extra["metrics"] = metrics
    text = config_json(family, module.config(), **extra)
    save_weights(module, folder / WEIGHTS_FILE)
    atomic_write_bytes(folder / CONFIG_FILE, text.encode())
    if card is None:
        card = f"# {name or family}\n\nA `{family}` model saved by cax_zoo.\n"
    atomic_write_bytes(folder / CARD_FILE, card.encode())
    return folder


def load_pretrained(
    folder: str | os.PathLike, *, expected_sha256: dict[str, str] | None = None, **config: Any
) -> AbstractAutomaton:
    """Rebuild a module from a folder written by :func:`save_pretrained`.

    ``config`` overrides entries of ``config.json``. Arrays that the overridden config
    determines (a Lenia creature's ``m``, say) take the override's values; every other
    array comes from the weight file and must fit the new skeleton.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise WeightsError(f"model folder not found: {folder}")
    if expected_sha256:
        verify_folder(folder, expected_sha256)
    data = read_config(folder / CONFIG_FILE)
    source = str(folder / CONFIG_FILE)
    skeleton = _rebuild(data, config, source)
    loaded = load_weights(skeleton, folder / WEIGHTS_FILE)
    if not config:
        return loaded
    return _apply_overridden_arrays(loaded, skeleton, data, source)


def _apply_overridden_arrays(loaded, skeleton, data, source):
    """Keep the skeleton's value for each array leaf that the config override changed.

    A leaf counts as config-derived when two builds from the saved config agree on it (it
    is not random initialisation) and the overridden build differs from them.
    """
    base_a = _rebuild(data, {}, source)
    base_b = _rebuild(data, {}, source)
    leaves = [jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array)) for m in (loaded, skeleton, base_a, base_b)]
    if len({len(x) for x in leaves}) != 1:
        return loaded
    chosen = []
    for got, new, a, b in zip(*leaves):
        deterministic = a.shape == b.shape and bool(jnp.array_equal(a, b))
        changed = a.shape != new.shape or not bool(jnp.array_equal(a, new))
        chosen.append(new if deterministic and changed else got)
    dynamic, static = eqx.partition(loaded, eqx.is_array)
    treedef = jax.tree_util.tree_structure(dynamic)
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, chosen), static)


def release(module: AbstractAutomaton, name: str, *, card: str, metrics: dict | None = None,
            root: str | os.PathLike | None = None) -> Path:
    """Save ``module`` as the released model ``name`` (``weights/<name>/``) and record its
    hashes in the manifest, which :func:`load` verifies."""
    get_entry(name)
    root = Path(root) if root is not None else weights_root()
    folder = save_pretrained(module, root / name, card=card, name=name, metrics=metrics)
    record_in_manifest(root, name, folder)
    return folder


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith((".", "/", "~"))
        or "\\" in name
        or ".." in name
        or name.count("/") > 1
        or os.path.isabs(name)
    )


def load(name: str, *, revision: str | None = None, **config: Any) -> AbstractAutomaton:
    """A ready-to-run model: its rollout and step are jitted and, for released models,
    its weights are loaded from ``weights/<name>/`` after a sha256 check.

    ``name`` is a registered name (``"life"``, ``"lenia/orbium"``) or a Hugging Face Hub
    repo id (``"user/repo"`` or ``"hf://user/repo"``, with an optional ``revision``).
    Rule families take their rule as config: ``load("life", rule="B36/S23")``.
    """
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {type(name).__name__}")
    if name in _ENTRIES and not name.startswith("hf://"):
        if revision is not None:
            raise ConfigError(f"revision={revision!r} applies to Hub repo ids, not to {name!r}")
        folder = pretrained_folder(name)
        if folder is None:
            return create(name, **config)
        manifest = read_manifest(weights_root())
        if name not in manifest:
            raise WeightsError(f"{folder} has no sha256 record in {weights_root() / 'manifest.json'}")
        return load_pretrained(folder, expected_sha256=manifest[name], **config)
    if _looks_like_path(name.removeprefix("hf://")):
        raise UnknownModelError(
            f"{name!r} looks like a path; load() takes a model name or a Hub repo id "
            "(use cax_zoo.load_pretrained(folder) for a local folder)"
        )
    hub_id = name.removeprefix("hf://")
    namespaces = {n.split("/")[0] for n in _ENTRIES if "/" in n}
    if _HUB_ID.match(name) and (name.startswith("hf://") or hub_id.split("/")[0] not in namespaces):
        from ._hub import download

        return load_pretrained(download(hub_id, revision=revision), **config)
    raise UnknownModelError(_unknown_message(name))
