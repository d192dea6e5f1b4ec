"""Weights on disk: safetensors arrays keyed by PyTree path, a JSON config, a model card.

A released model is a folder ``<name>/`` holding ``model.safetensors``, ``config.json``
and ``README.md``. The folder of released models records every file's sha256 in
``manifest.json``; :func:`verify_folder` checks it. No pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ._errors import WeightsError

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


def _publish(tmp: str, path: Path) -> None:
    """Give a finished temporary file the usual permissions and move it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``, so a reader
    never sees a half-written file and a crash never destroys the previous version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_weights(module: eqx.Module, path: str | os.PathLike) -> Path:
    """Write the module's arrays to a safetensors file (atomically)."""
    path = Path(path)
    arrays = module_arrays(module)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: np.array(v, order="C", copy=True) for k, v in arrays.items()}, tmp)  # keeps 0-d shapes
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
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
    over; otherwise a WeightsError names the key and the file.
    """
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
        new.append(jnp.asarray(value))
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, new), static)


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a ``config.json``: ``{"family", "schema_version", "config", ...}``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightsError(f"config file {path} is not valid JSON: {e}") from None
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


def folder_hashes(folder: str | os.PathLike) -> dict[str, str]:
    folder = Path(folder)
    return {f: sha256_file(folder / f) for f in (WEIGHTS_FILE, CONFIG_FILE) if (folder / f).is_file()}


def verify_folder(folder: str | os.PathLike, expected: Mapping[str, str]) -> None:
    """Check each file's sha256 against ``expected`` (``{filename: hexdigest}``)."""
    folder = Path(folder)
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


def read_manifest(root: str | os.PathLike) -> dict[str, dict[str, str]]:
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise WeightsError(f"{path} is not valid JSON: {e}") from None
    return data


def record_in_manifest(root: str | os.PathLike, name: str, folder: str | os.PathLike) -> None:
    """Record the sha256 of a released folder's files under ``name`` in the manifest."""
    manifest = read_manifest(root)
    manifest[name] = folder_hashes(folder)
    text = json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
    atomic_write_bytes(Path(root) / MANIFEST_FILE, text.encode())
