"""CAX's six stored Lenia patterns (``cax.cs.lenia.patterns``: ``5N7KKM``,
``5N7KKM_gyrating``, ``5N7KKM_twin``, ``VT049W``, ``Orbium``, ``Gyrorbium``; MIT), read from
``cax_patterns.json``, a JSON conversion of CAX's pickles: the zoo never reads a pickle.

The file lives in ``$CAX_ZOO_DATA/lenia`` (or a ``data`` folder given explicitly) and is
sha256-checked. There is no public JSON original to download (CAX ships pickles), so
without it a :class:`~cax_zoo.DataError` says where to put it; the released creatures
(``cax_zoo.load("lenia/5n7kkm")``) carry their rule and cells and need no data file.

Format: ``{"source", "settings", "patterns": {NAME: {"cells": {"shape", "dtype", "data"},
"rule": {"channel_source", "channel_target", "weight", "kernel_r", "kernel_b",
"growth_mean", "growth_std"}}}}`` with ``kernel_b`` rows padded with ``null`` where CAX
pads with NaN. :data:`SETTINGS` holds how CAX's Lenia notebook runs each pattern.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError
from ._files import read_bytes
from ._lenia_catalogue import Creature, KernelSpec

FILE = "cax_patterns.json"
SHA256 = "3b0ee79ad9646c0a8617138648a7978f35f45c1ae695f70552d2a75eb5226fd6"
SOURCE = ("CAX (github.com/maxencefaldor/cax, src/cax/cs/lenia/patterns/{name}/, MIT licence), "
          "converted from its pickles to JSON")
MAX_KERNELS = 256
MAX_EXTENT = 1024
MAX_BYTES = 16 << 20  # the file is 80 kB

SETTINGS: dict[str, dict[str, Any]] = {
    **{name: {"R": 12, "T": 2, "state_scale": 2, "kernel_core": "gaussian", "growth": "exponential"}
       for name in ("5N7KKM", "5N7KKM_gyrating", "5N7KKM_twin", "VT049W")},
    "Orbium": {"R": 13, "T": 10, "state_scale": 1, "kernel_core": "gaussian", "growth": "exponential"},
    "Gyrorbium": {"R": 13, "T": 10, "state_scale": 1, "kernel_core": "polynomial", "growth": "exponential"},
}
"""How ``examples/20_lenia.ipynb`` runs each pattern: the 3-channel ones with R=12, T=2,
``state_scale=2`` and CAX's defaults (Gaussian kernel core, exponential growth); its
Orbium cell with R=13, T=10 and the default kernel; its rotator (Gyrorbium) cell with
R=13, T=10 and ``polynomial_kernel_fn``."""


def cax_patterns_path(*, data: str | os.PathLike | None = None) -> Path:
    """``cax_patterns.json`` under ``data`` (the file's folder or its parent holding
    ``lenia/``), else under ``$CAX_ZOO_DATA/lenia``."""
    folders = [Path(data), Path(data) / "lenia"] if data is not None else []
    env = os.environ.get("CAX_ZOO_DATA")
    if data is None and env:
        folders.append(Path(env) / "lenia")
    for folder in folders:
        if (folder / FILE).is_file():
            return folder / FILE
    raise DataError(
        f"no {FILE} in {', '.join(map(str, folders)) or '$CAX_ZOO_DATA/lenia (CAX_ZOO_DATA is not set)'}: "
        "it is a JSON conversion of CAX's pattern pickles (sha256 " + SHA256[:12] + "...); the released "
        "creatures load without it")


def read_cax_patterns(*, data: str | os.PathLike | None = None) -> dict[str, Any]:
    """The file's JSON object, after its sha256 check."""
    path = cax_patterns_path(data=data)
    raw = read_bytes(path, max_bytes=MAX_BYTES, what="CAX's Lenia patterns file")
    if hashlib.sha256(raw).hexdigest() != SHA256:
        raise DataError(f"{path} fails its sha256 check: it is not the expected conversion of CAX's patterns")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("patterns"), dict):
        raise DataError(f"{path}: expected an object with a 'patterns' object")
    return doc


def _array(value: Any, where: str, *, dtype=np.float64) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise DataError(f"{where}: expected a rectangular array of numbers") from None
    return arr


def parse_cax_pattern(name: str, entry: Any) -> Creature:
    """One pattern entry -> :class:`Creature` with CAX's run settings (:data:`SETTINGS`)."""
    where = f"CAX Lenia pattern {name!r}"
    if name not in SETTINGS:
        raise DataError(f"{where}: unknown pattern; expected one of {', '.join(SETTINGS)}")
    if not isinstance(entry, dict) or not isinstance(entry.get("cells"), dict) or not isinstance(entry.get("rule"), dict):
        raise DataError(f"{where}: expected an object with 'cells' and 'rule' objects")
    cells_doc, rule = entry["cells"], entry["rule"]
    shape = cells_doc.get("shape")
    if (not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(n, int) and 1 <= n <= MAX_EXTENT
                                                                   for n in shape)):
        raise DataError(f"{where}: cells shape must be [rows, columns, channels] within {MAX_EXTENT}, got {shape!r}")
    cells = _array(cells_doc.get("data"), f"{where} cells")
    if list(cells.shape) != shape:
        raise DataError(f"{where}: cells data has shape {list(cells.shape)}, the header says {shape}")
    if not np.all(np.isfinite(cells)) or cells.min() < 0 or cells.max() > 1:
        raise DataError(f"{where}: cell values must lie in [0, 1]")
    keys = ("channel_source", "channel_target", "weight", "kernel_r", "growth_mean", "growth_std")
    vecs = {}
    for key in keys:
        v = _array(rule.get(key), f"{where} rule {key}")
        if v.ndim != 1 or not 1 <= v.size <= MAX_KERNELS or not np.all(np.isfinite(v)):
            raise DataError(f"{where}: rule {key} must be 1 to {MAX_KERNELS} finite numbers")
        vecs[key] = v
    k = vecs["weight"].size
    if any(v.size != k for v in vecs.values()):
        raise DataError(f"{where}: rule arrays disagree on the number of kernels: "
                        f"{ {key: v.size for key, v in vecs.items()} }")
    b = rule.get("kernel_b")
    if not isinstance(b, list) or len(b) != k or not all(isinstance(row, list) and row for row in b):
        raise DataError(f"{where}: rule kernel_b must hold one list of ring weights per kernel")
    channels = shape[2]
    kernels = []
    for i in range(k):
        row = b[i]
        used = [x for x in row if x is not None]
        if row[: len(used)] != used or not used or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < float("inf") for x in used):
            raise DataError(f"{where}: kernel {i} ring weights must be numbers >= 0 then null padding, got {row}")
        c0, c1 = vecs["channel_source"][i], vecs["channel_target"][i]
        if c0 != int(c0) or c1 != int(c1) or not (0 <= c0 < channels and 0 <= c1 < channels):
            raise DataError(f"{where}: kernel {i} channels must be indices in [0, {channels})")
        if vecs["growth_std"][i] <= 0 or vecs["kernel_r"][i] <= 0:
            raise DataError(f"{where}: kernel {i} needs growth_std > 0 and kernel_r > 0")
        kernels.append(KernelSpec(
            b=tuple(float(x) for x in used), m=float(vecs["growth_mean"][i]), s=float(vecs["growth_std"][i]),
            h=float(vecs["weight"][i]), r=float(vecs["kernel_r"][i]), c0=int(c0), c1=int(c1)))
    st = SETTINGS[name]
    return Creature(name, name, "", float(st["R"]), float(st["T"]), tuple(kernels), st["kernel_core"],
                    st["growth"], cells.astype(np.float32), SOURCE.format(name=name), st["state_scale"])


def load_cax_pattern(name: str, *, data: str | os.PathLike | None = None) -> Creature:
    """CAX's pattern ``name`` (e.g. ``"5N7KKM"``) with its rule and run settings."""
    patterns = read_cax_patterns(data=data)["patterns"]
    if name not in patterns:
        raise DataError(f"no pattern {name!r} in {FILE}; it has {', '.join(sorted(patterns))}")
    return parse_cax_pattern(name, patterns[name])
