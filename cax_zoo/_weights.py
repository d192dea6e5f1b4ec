"""Weights on disk: safetensors arrays keyed by PyTree path, a JSON config, a model card.

A released model is a folder ``<name>/`` holding ``model.safetensors``, ``config.json``
and ``README.md``. The folder of released models records every file's sha256 in
``manifest.json``; :func:`verify_folder` checks it. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ._atomic import atomic_write, atomic_write_bytes as atomic_write_bytes
from ._errors import WeightsError
from ._validation import parse_json

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1


def weight_key(path: tuple) -> str:
    """The safetensors key of a leaf: its PyTree path joined by dots (``update.weights.0``)."""
    return jax.tree_util.keystr(path, simple=True, separator=".")


def module_arrays(module: eqx.Module) -> dict[str, np.ndarray]:
    """Every array leaf of ``module`` as ``{key: numpy array}``."""
    arrays = eqx.filter(module, eqx.is_array)
    leaves, _ = jax.tree_util.tree_flatten_with_path(arrays)
    out: dict[str, np.ndarray] = {}
    for path, leaf in leaves:
        key = weight_key(path)
        if key in out:
            raise WeightsError(f"two leaves share the weight key {key!r}")
        out[key] = np.asarray(jax.device_get(leaf))
    return out


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(module: eqx.Module, path: str | os.PathLike) -> Path:
    """Write the module's arrays to a safetensors file (atomically)."""
    path = Path(path)
    arrays = module_arrays(module)
    with atomic_write(path) as tmp:
        save_file({k: np.array(v, order="C", copy=True) for k, v in arrays.items()}, str(tmp))  # keeps 0-d shapes
    return path


def read_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a safetensors file, turning any corruption into a WeightsError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"corrupt or truncated weight file {path}: {e}") from None


def load_weights(skeleton: eqx.Module, path: str | os.PathLike) -> eqx.Module:
    """Fill the array leaves of ``skeleton`` from a safetensors file.

    Every key must be present with the skeleton's shape and dtype, and no key may be left
    over; otherwise a WeightsError names the key and the file. A file much larger than the
    skeleton's arrays is refused before it is read (no memory bomb from a download).
    """
    path = Path(path)
    leaves = jax.tree_util.tree_leaves(eqx.filter(skeleton, eqx.is_array))
    expected = sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in leaves)
    limit = expected + (1 << 20) + 512 * len(leaves)  # arrays + a generous header
    if path.is_file() and path.stat().st_size > limit:
        raise WeightsError(f"{path} is {path.stat().st_size} bytes; the model's arrays take {expected} "
                           "bytes: not this model's weights")
    return fill_arrays(skeleton, read_weights(path), source=str(path))


def fill_arrays(skeleton: eqx.Module, arrays: Mapping[str, np.ndarray], *, source: str) -> eqx.Module:
    dynamic, static = eqx.partition(skeleton, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(dynamic)
    expected = {weight_key(p) for p, _ in leaves}
    missing = [weight_key(p) for p, _ in leaves if weight_key(p) not in arrays]
    extra = sorted(set(arrays) - expected)
    if missing:
        raise WeightsError(f"{source}: missing key(s) {', '.join(map(repr, missing))}")
    if extra:
        raise WeightsError(f"{source}: unexpected key(s) {', '.join(map(repr, extra))}")
    new = []
    for p, leaf in leaves:
        key = weight_key(p)
        value = arrays[key]
        if tuple(value.shape) != tuple(leaf.shape):
            raise WeightsError(
                f"{source}: key {key!r} has shape {tuple(value.shape)}, the model expects "
                f"{tuple(leaf.shape)}"
            )
        if np.dtype(value.dtype) != np.dtype(leaf.dtype):
            raise WeightsError(
                f"{source}: key {key!r} has dtype {np.dtype(value.dtype).name}, the model "
                f"expects {np.dtype(leaf.dtype).name}"
            )
        if np.issubdtype(value.dtype, np.inexact) and not np.all(np.isfinite(value)):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            raise WeightsError(f"{source}: key {key!r} holds {bad} NaN or infinite value(s); "
                               "refusing to load a broken model")
        new.append(jnp.asarray(value))
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, new), static)


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a ``config.json``: ``{"family", "schema_version", "config", ...}``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"config file not found: {path}")
    # bounded: no 100,000-deep nesting, 5,000-digit numbers or NaN reach the families
    data = parse_json(path.read_bytes(), what=f"config file {path}", max_depth=64, error=WeightsError)
    if not isinstance(data, dict):
        raise WeightsError(f"config file {path} must hold a JSON object")
    for field, kind in (("family", str), ("schema_version", int), ("config", dict)):
        if not isinstance(data.get(field), kind):
            raise WeightsError(f"config file {path}: field {field!r} missing or not a {kind.__name__}")
    if data["schema_version"] > SCHEMA_VERSION:
        raise WeightsError(
            f"config file {path} has schema version {data['schema_version']}; this cax_zoo "
            f"reads up to {SCHEMA_VERSION} (upgrade cax_zoo)"
        )
    return data


def config_json(family: str, config: Mapping[str, Any], **extra: Any) -> str:
    data = {"family": family, "schema_version": SCHEMA_VERSION, "config": dict(config), **extra}
    try:
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    except TypeError as e:
        raise WeightsError(f"config of family {family!r} is not JSON-serialisable: {e}") from None


HEX64 = re.compile(r"^[0-9a-f]{64}$")
RELEASE_FILES = (WEIGHTS_FILE, CONFIG_FILE)  # the files a manifest entry must record


def folder_hashes(folder: str | os.PathLike) -> dict[str, str]:
    folder = Path(folder)
    return {f: sha256_file(folder / f) for f in RELEASE_FILES if (folder / f).is_file()}


def verify_folder(folder: str | os.PathLike, expected: Mapping[str, str]) -> None:
    """Check each file's sha256 against ``expected`` (``{filename: hexdigest}``), which must
    cover both the weights and the config: a partial record verifies nothing."""
    folder = Path(folder)
    check_manifest_entry(expected, source=str(folder))
    for filename, digest in expected.items():
        path = folder / filename
        if not path.is_file():
            raise WeightsError(f"{path} is missing")
        actual = sha256_file(path)
        if actual != digest:
            raise WeightsError(
                f"{path} fails its sha256 check (expected {digest[:12]}..., got {actual[:12]}...): "
                "the file is corrupt or has been modified"
            )


def check_manifest_entry(entry: Any, *, source: str) -> dict[str, str]:
    """A manifest entry: ``{"model.safetensors": sha256, "config.json": sha256}`` (both
    required, 64 lower-case hex digits each, no other file names)."""
    if not isinstance(entry, Mapping):
        raise WeightsError(f"{source}: manifest entry must be an object of sha256 digests, got "
                           f"{type(entry).__name__}")
    missing = [f for f in RELEASE_FILES if f not in entry]
    if missing:
        raise WeightsError(f"{source}: manifest entry records no sha256 for {', '.join(missing)}")
    for filename, digest in entry.items():
        if filename not in RELEASE_FILES:
            raise WeightsError(f"{source}: manifest entry names an unexpected file {str(filename)[:60]!r}")
        if not isinstance(digest, str) or not HEX64.match(digest):
            raise WeightsError(f"{source}: manifest sha256 of {filename} is not 64 hex digits")
    return dict(entry)


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a weights folder, ``{name: {filename: sha256}}`` (``{}`` if absent).
    Entries are checked when used (:func:`check_manifest_entry`)."""
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path} must hold a JSON object of released models")
    return data


def manifest_text(manifest: Mapping[str, Any]) -> str:
    return json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"


def record_in_manifest(root: str | os.PathLike, name: str, folder: str | os.PathLike) -> None:
    """Record the sha256 of a released folder's files under ``name`` in the manifest."""
    manifest = read_manifest(root)
    manifest[name] = folder_hashes(folder)
    atomic_write_bytes(Path(root) / MANIFEST_FILE, manifest_text(manifest).encode())


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


def release_folder(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where the released model ``name`` lives (whether or not it exists)."""
    return (Path(root) if root is not None else weights_root()) / name


def has_release(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether ``weights/<name>/`` holds any file of a release, or the manifest records it:
    a half-present release counts, so that it is reported instead of silently skipped."""
    root = Path(root) if root is not None else weights_root()
    folder = root / name
    if any((folder / f).exists() for f in (*RELEASE_FILES, CARD_FILE)):
        return True
    try:
        return name in read_manifest(root)
    except WeightsError:
        return True
