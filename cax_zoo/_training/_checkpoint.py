"""Training checkpoints: the arrays of several PyTrees (model, optimiser state, sample
pool, ...) in one safetensors file, and the step, RNG key data and config in JSON.

A checkpoint folder holds ``ckpt-<step>.safetensors`` files and ``checkpoint.json``,
which names the current one and records its sha256. Each file is written atomically and
the JSON is replaced last, so a run killed at any moment leaves the previous checkpoint
intact and readable. On load the record is checked field by field (the file must be this
folder's file of that step, the step a sane count, the meta well typed) and the array
file against its sha256, so a flipped byte or a record naming another file is an error,
not a resume into a different model.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np
from safetensors.numpy import save_file

from .._atomic import atomic_write, atomic_write_bytes
from .._errors import WeightsError
from .._weights import fill_arrays, read_weights, sha256_file, weight_key

CHECKPOINT_JSON = "checkpoint.json"
MAX_STEP = 2**31 - 1
_FILE = re.compile(r"^ckpt-(\d{9,10})\.safetensors$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    step = int(step)
    if not 0 <= step <= MAX_STEP:
        raise WeightsError(f"checkpoint step must be in [0, {MAX_STEP}], got {step}")
    arrays: dict[str, np.ndarray] = {}
    for name, tree in trees.items():
        arrays.update(tree_arrays(tree, name))
    filename = f"ckpt-{step:09d}.safetensors"
    with atomic_write(folder / filename) as tmp:
        save_file(arrays, str(tmp))
    record = {"step": step, "file": filename, "sha256": sha256_file(folder / filename),
              "trees": sorted(trees), "meta": dict(meta or {})}
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
    step, filename, digest, meta = read_record(path)
    file = folder / filename
    if not file.is_file():
        raise WeightsError(f"{path} names {filename}, which is not in {folder}")
    actual = sha256_file(file)
    if actual != digest:
        raise WeightsError(f"{file} fails its sha256 check (expected {digest[:12]}..., got {actual[:12]}...): "
                           "the checkpoint is corrupt or belongs to another run")
    arrays = read_weights(folder / filename)
    trees = {}
    for name, skeleton in skeletons.items():
        sub = {}
        for key, value in arrays.items():
            if key == name:
                sub[""] = value
            elif key.startswith(name + "."):
                sub[key[len(name) + 1 :]] = value
        trees[name] = fill_arrays(skeleton, sub, source=f"{folder / filename} [{name}]")
    return trees, step, meta


def read_record(path: Path) -> tuple[int, str, str, dict[str, Any]]:
    """``(step, file, sha256, meta)`` of a ``checkpoint.json``, each field checked; any
    problem is a one-line WeightsError naming the file and the field."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, OSError) as e:
        raise WeightsError(f"{path} is not a valid checkpoint record: {str(e)[:120]}") from None

    def bad(field: str, why: str) -> WeightsError:
        return WeightsError(f"{path}: field {field!r} {why}")

    if not isinstance(record, dict):
        raise WeightsError(f"{path} must hold a JSON object")
    step = record.get("step")
    if isinstance(step, bool) or not isinstance(step, int):
        raise bad("step", f"must be an integer, got {str(step)[:40]}")
    if not 0 <= step <= MAX_STEP:
        raise bad("step", f"must be in [0, {MAX_STEP}], got {str(step)[:40]}")
    filename = record.get("file")
    match = _FILE.match(filename) if isinstance(filename, str) else None
    if match is None or int(match.group(1)) != step:
        raise bad("file", f"must be this folder's ckpt-{step:09d}.safetensors, got {str(filename)[:80]!r}")
    digest = record.get("sha256")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise bad("sha256", "must be the 64-hex sha256 of the checkpoint file (written by this cax_zoo)")
    meta = record.get("meta")
    if not isinstance(meta, dict):
        raise bad("meta", "must be an object")
    check_meta(meta, source=str(path))
    return step, filename, digest, meta


def check_meta(meta: Mapping[str, Any], *, source: str) -> None:
    """The meta fields the recipes read back, where present: ``config`` an object,
    ``history`` a list of ``[step, loss]``, ``train_seconds`` a finite number >= 0,
    ``key_data`` a list of uint32 words."""

    def bad(field: str, why: str) -> WeightsError:
        return WeightsError(f"{source}: meta field {field!r} {why}")

    if "config" in meta and not isinstance(meta["config"], dict):
        raise bad("config", "must be an object")
    if "history" in meta:
        hist = meta["history"]
        if not isinstance(hist, list) or not all(
                isinstance(h, list) and len(h) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in h[:2]) for h in hist):
            raise bad("history", "must be a list of [step, loss] pairs")
    if "train_seconds" in meta:
        t = meta["train_seconds"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise bad("train_seconds", f"must be a finite number >= 0, got {str(t)[:40]}")
    if "key_data" in meta:
        k = meta["key_data"]
        if not isinstance(k, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              and 0 <= v < 2**32 for v in k):
            raise bad("key_data", "must be a list of uint32 words")


def key_data(key: jax.Array) -> list[int]:
    """A PRNG key as a JSON-able list of uint32 words."""
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return [int(v) for v in np.asarray(key).ravel()]
