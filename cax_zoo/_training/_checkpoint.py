"""Training checkpoints: the arrays of several PyTrees (model, optimiser state, sample
pool, ...) in one safetensors file, and the step, RNG key data and config in JSON.

A checkpoint folder holds ``ckpt-<step>.safetensors`` files and ``checkpoint.json``,
which names the current one. Each file is written atomically and the JSON is replaced
last, so a run killed at any moment leaves the previous checkpoint intact and readable.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np
from safetensors.numpy import save_file

from .._errors import WeightsError
from .._weights import atomic_write_bytes, fill_arrays, read_weights, weight_key

CHECKPOINT_JSON = "checkpoint.json"


def tree_arrays(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    """Every array leaf of ``tree`` as ``{prefix.path: numpy array}``."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(eqx.filter(tree, eqx.is_array))
    out = {}
    for path, leaf in leaves:
        key = f"{prefix}.{weight_key(path)}" if path else prefix
        out[key] = np.array(jax.device_get(leaf), order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
    return out


def save_checkpoint(
    folder: str | os.PathLike,
    trees: Mapping[str, Any],
    *,
    step: int,
    meta: Mapping[str, Any] | None = None,
    keep: int = 2,
) -> Path:
    """Write the array leaves of each named tree and ``meta`` (JSON-able: config, RNG key
    data, loss history ...) as the checkpoint of ``step``; keep the ``keep`` newest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, tree in trees.items():
        arrays.update(tree_arrays(tree, name))
    filename = f"ckpt-{int(step):09d}.safetensors"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(arrays, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, folder / filename)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    record = {"step": int(step), "file": filename, "trees": sorted(trees), "meta": dict(meta or {})}
    atomic_write_bytes(folder / CHECKPOINT_JSON, (json.dumps(record, indent=2) + "\n").encode())
    old = sorted(p for p in folder.glob("ckpt-*.safetensors") if p.name != filename)
    for p in old[: max(0, len(old) - (keep - 1))]:
        p.unlink(missing_ok=True)
    return folder / filename


def has_checkpoint(folder: str | os.PathLike) -> bool:
    return (Path(folder) / CHECKPOINT_JSON).is_file()


def load_checkpoint(
    folder: str | os.PathLike, skeletons: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, Any]]:
    """Read the newest checkpoint into the given skeleton trees (same structure, shapes and
    dtypes as when saved). Returns ``(trees, step, meta)``."""
    folder = Path(folder)
    path = folder / CHECKPOINT_JSON
    if not path.is_file():
        raise WeightsError(f"no checkpoint in {folder} (nothing to resume; run without --resume)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        step, filename, meta = int(record["step"]), str(record["file"]), dict(record["meta"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise WeightsError(f"{path} is not a valid checkpoint record: {e}") from None
    arrays = read_weights(folder / filename)
    trees = {}
    for name, skeleton in skeletons.items():
        sub = {}
        for key, value in arrays.items():
            if key == name:
                sub[""] = value
            elif key.startswith(name + "."):
                sub[key[len(name) + 1 :]] = value
        if "" in sub:  # the tree is a single array
            trees[name] = jax.numpy.asarray(sub[""])
            continue
        trees[name] = fill_arrays(skeleton, sub, source=f"{folder / filename} [{name}]")
    return trees, step, meta


def key_data(key: jax.Array) -> list[int]:
    """A PRNG key as a JSON-able list of uint32 words."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return [int(v) for v in np.asarray(key).ravel()]
