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

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError
from ._files import find_folder, read_json
from ._lenia_catalogue import MAX_KERNELS, Creature, cells_array, parse_kernels

FILE = "cax_patterns.json"
SHA256 = "3b0ee79ad9646c0a8617138648a7978f35f45c1ae695f70552d2a75eb5226fd6"
SOURCE = ("CAX (github.com/maxencefaldor/cax, src/cax/cs/lenia/patterns/{name}/, MIT licence), "
          "converted from its pickles to JSON")
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
    folder = find_folder("lenia", [FILE], data, label="CAX Lenia patterns")
    if folder is None:
        env = os.environ.get("CAX_ZOO_DATA")
        raise DataError(
            f"no {FILE} in {Path(env) / 'lenia' if env else '$CAX_ZOO_DATA/lenia (CAX_ZOO_DATA is not set)'}: "
            "it is a JSON conversion of CAX's pattern pickles (sha256 " + SHA256[:12] + "...); the released "
            "creatures load without it")
    return folder / FILE


def read_cax_patterns(*, data: str | os.PathLike | None = None) -> dict[str, Any]:
    """The file's JSON object, after its sha256 check."""
    path = cax_patterns_path(data=data)
    doc = read_json(path, max_bytes=MAX_BYTES, what="CAX's Lenia patterns file", sha256=SHA256)
    if not isinstance(doc, dict) or not isinstance(doc.get("patterns"), dict):
        raise DataError(f"{path}: expected an object with a 'patterns' object")
    return doc


COLUMNS = {"b": "kernel_b", "m": "growth_mean", "s": "growth_std", "h": "weight", "r": "kernel_r",
           "c0": "channel_source", "c1": "channel_target"}
"""Catalogue kernel field -> CAX's rule column (``LeniaRuleParams``: one entry per kernel)."""


def parse_cax_pattern(name: str, entry: Any) -> Creature:
    """One pattern entry -> :class:`Creature` with CAX's run settings (:data:`SETTINGS`);
    the rule's columns are read kernel by kernel as catalogue kernels
    (:func:`~cax_zoo._data._lenia_catalogue.parse_kernels`)."""
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
    cells = cells_array(cells_doc.get("data"), f"{where} cells", ndim=3)
    if list(cells.shape) != shape:
        raise DataError(f"{where}: cells data has shape {list(cells.shape)}, the header says {shape}")
    columns = {key: rule.get(column) for key, column in COLUMNS.items()}
    for key, column in columns.items():
        if not isinstance(column, list) or not 1 <= len(column) <= MAX_KERNELS:
            raise DataError(f"{where}: rule {COLUMNS[key]} must list 1 to {MAX_KERNELS} values, one per kernel")
    if len({len(column) for column in columns.values()}) > 1:
        raise DataError(f"{where}: rule arrays disagree on the number of kernels: "
                        f"{ {COLUMNS[key]: len(column) for key, column in columns.items()} }")
    specs = [{key: column[i] for key, column in columns.items()} for i in range(len(columns["m"]))]
    kernels = parse_kernels(specs, where, shape[2])
    st = SETTINGS[name]
    return Creature(name, name, "", float(st["R"]), float(st["T"]), kernels, st["kernel_core"],
                    st["growth"], cells, SOURCE.format(name=name), st["state_scale"])


def load_cax_pattern(name: str, *, data: str | os.PathLike | None = None) -> Creature:
    """CAX's pattern ``name`` (e.g. ``"5N7KKM"``) with its rule and run settings."""
    patterns = read_cax_patterns(data=data)["patterns"]
    if name not in patterns:
        raise DataError(f"no pattern {name!r} in {FILE}; it has {', '.join(sorted(patterns))}")
    return parse_cax_pattern(name, patterns[name])
