"""Bert Chan's Lenia creature catalogue (``animals.json``, ``animals3D.json``; MIT).

Reads ``$CAX_ZOO_DATA/lenia/<file>`` if present, else downloads the public original from
the Lenia repository into ``$CAX_ZOO_CACHE/lenia`` (default ``~/.cache/cax_zoo/lenia``) and
checks its sha256. Entries are parsed strictly: a malformed one raises
:class:`~cax_zoo.DataError` naming the entry and the problem.

The format (Chan's ``LeniaND.py``): every entry is ``{"code", "name", "cname", "params",
"cells"}``; header entries (taxa) have no ``params``. ``params`` holds ``R`` (kernel radius
in cells), ``T`` (time resolution, the step is ``1/T``), ``b`` (ring weights, a string of
fractions ``"1,1/2"``), ``m``/``s`` (growth centre and width), ``kn`` (kernel core:
1 polynomial, 2 exponential, 3 rectangular, 4 staircase) and ``gn`` (growth: 1 polynomial,
2 Gaussian, 3 rectangular). Multi-channel entries (Chan's "expanded universe") instead have
``params = {"R", "T", "kernels": [{"b", "m", "s", "h", "r", "c0", "c1"}, ...]}`` (Gaussian
bump cores and growths) and ``cells`` as one item per channel. ``cells`` is run-length
encoded: an optional count, then a value ``.``/``b`` (0), ``o`` (255), ``A``-``X`` (1-24)
or a two-character ``pA``-``yO`` (25-255), each out of 255; ``$`` ends a row, ``%`` a
layer (3-D), ``#`` a 4-D block; a count before a delimiter adds empty rows/layers; ``!``
ends the pattern; short rows are padded with zeros.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError, DataError
from .._validation import check_choice, check_float, check_int, parse_json
from ._files import cache_folder, digest_mismatch, download, find_folder, read_json

FILES = {2: "animals.json", 3: "animals3D.json"}
SHA256 = {
    "animals.json": "09cf0a831c1ef8a73ebfaa9126257fbe076108362b706a98d88650ca9848d206",
    "animals3D.json": "e678520127af498c28f06398f7ff922cb39fb5f3688fe01e35c97588322cfe72",
}
URL = "https://raw.githubusercontent.com/Chakazul/Lenia/master/Python/"
SOURCE = "Bert Chan, Lenia (github.com/Chakazul/Lenia, Python/{file}), MIT licence"

KERNEL_CORES = ("polynomial", "exponential", "rectangular", "staircase", "gaussian")
"""Kernel cores; the catalogue's ``kn`` = 1..4 are the first four."""
GROWTHS = ("polynomial", "gaussian", "rectangular")
"""Growth functions; the catalogue's ``gn`` = 1..3."""

MAX_BYTES = 16 << 20
"""Largest catalogue file read (``animals.json`` is 1 MB)."""
MAX_KERNELS = 256
"""Most kernels one creature may have (Chan's have at most 15)."""
MAX_EXTENT = 4096
"""Largest extent of an RLE pattern along any axis (a creature is tens of cells wide)."""
MAX_CELLS = 1 << 22
"""Most cells one RLE pattern may decode to."""

_DELIMS = {"$": 1, "%": 2, "#": 3}
_PREFIX = "pqrstuvwxy"


@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """One kernel: ring weights ``b``, growth centre ``m`` and width ``s``, weight ``h``,
    relative radius ``r`` (times the creature's ``R``), source channel ``c0`` and target
    channel ``c1``."""

    b: tuple[float, ...]
    m: float
    s: float
    h: float = 1.0
    r: float = 1.0
    c0: int = 0
    c1: int = 0


@dataclasses.dataclass(frozen=True)
class Creature:
    """A catalogue creature: its rule and its pattern ``cells`` of shape
    ``(*spatial, C)`` (float32 in [0, 1]; spatial axes in the catalogue's order, e.g.
    ``(rows, columns)`` in 2-D and ``(layers, rows, columns)`` in 3-D)."""

    code: str
    name: str
    cname: str
    R: float
    T: float
    kernels: tuple[KernelSpec, ...]
    kernel_core: str
    growth: str
    cells: np.ndarray
    source: str
    state_scale: int = 1

    @property
    def num_spatial_dims(self) -> int:
        return self.cells.ndim - 1

    @property
    def num_channels(self) -> int:
        return self.cells.shape[-1]

    def rule_arrays(self) -> dict[str, list]:
        """The rule as per-kernel lists, the keyword arguments every Lenia family takes
        (``m, s, h, r, b, sources, targets``; see :meth:`cax_zoo.lenia.LeniaRule.from_config`)."""
        ks = self.kernels
        return {"m": [k.m for k in ks], "s": [k.s for k in ks], "h": [k.h for k in ks], "r": [k.r for k in ks],
                "b": [list(k.b) for k in ks], "sources": [k.c0 for k in ks], "targets": [k.c1 for k in ks]}


# ------------------------------------------------------------------------- files
def catalogue_path(dims: int = 2, *, data: str | os.PathLike | None = None) -> Path:
    """The catalogue file for ``dims`` (2 or 3): under ``data`` (a folder holding the file
    or a ``lenia/`` subfolder), else ``$CAX_ZOO_DATA/lenia``, else the download cache
    (downloading and verifying the file if it is not there yet)."""
    if dims not in FILES:
        raise DataError(f"the Lenia catalogue has 2-D and 3-D files, not {dims}-D")
    filename = FILES[dims]
    folder = find_folder("lenia", [filename], data, label="Lenia catalogue")
    if folder is not None:
        return folder / filename
    cached = cache_folder("lenia") / filename
    if not cached.is_file():
        download([URL + filename], cached, max_bytes=MAX_BYTES, what=f"the Lenia catalogue {filename}",
                 verify=lambda payload: digest_mismatch(payload, SHA256[filename]),
                 hint="or set CAX_ZOO_DATA to a folder with lenia/")
    return cached


def read_catalogue(dims: int = 2, *, data: str | os.PathLike | None = None,
                   verify: bool = True) -> list[dict[str, Any]]:
    """The raw JSON entries of the catalogue file (sha256-checked when ``verify``)."""
    path = catalogue_path(dims, data=data)
    entries = read_json(path, max_bytes=MAX_BYTES, what="the Lenia catalogue",
                        sha256=SHA256[path.name] if verify else None)
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a JSON list of entries, got {type(entries).__name__}")
    return entries


def load_catalogue(dims: int = 2, *, data: str | os.PathLike | None = None) -> list[Creature]:
    """Every creature (entry with ``params`` and ``cells``) of the 2-D or 3-D catalogue."""
    source = SOURCE.format(file=FILES[dims])
    return [parse_entry(e, dims=dims, source=source) for e in read_catalogue(dims, data=data)
            if isinstance(e, dict) and "params" in e]


def find_creature(code: str, *, dims: int = 2, name: str | None = None,
                  data: str | os.PathLike | None = None) -> Creature:
    """The first creature with catalogue code ``code`` (and ``name``, when given)."""
    source = SOURCE.format(file=FILES[dims])
    for e in read_catalogue(dims, data=data):
        if isinstance(e, dict) and e.get("code") == code and "params" in e:
            if name is None or e.get("name") == name:
                return parse_entry(e, dims=dims, source=source)
    raise DataError(f"no creature with code {code!r}" + (f" and name {name!r}" if name else "")
                    + f" in {FILES[dims]}")


# ------------------------------------------------------------------------- parsing
def parse_fractions(text: Any, *, where: str = "b") -> tuple[float, ...]:
    """``"1,1/2"`` -> ``(1.0, 0.5)``; also a list of numbers, where trailing ``null``
    entries are padding (CAX's NaN-padded ``kernel_b``) and dropped."""
    items = text.split(",") if isinstance(text, str) else text
    if isinstance(items, (list, tuple)):
        items = list(items)
        while items and items[-1] is None:
            items.pop()
    if not isinstance(items, list) or not items:
        raise DataError(f"{where}: expected ring weights like '1,1/2', got {text!r}")
    out = []
    for item in items:
        if item is None:
            raise DataError(f"{where}: ring weights must be numbers >= 0, then null padding; got {text!r}")
        try:
            value = float(Fraction(item.strip()) if isinstance(item, str) else item)
        except (ValueError, ZeroDivisionError, TypeError):
            raise DataError(f"{where}: bad ring weight {item!r} in {text!r}") from None
        if not np.isfinite(value) or value < 0 or isinstance(item, bool):
            raise DataError(f"{where}: ring weight {item!r} must be finite and >= 0")
        out.append(value)
    return tuple(out)


def _value(token: str, where: str) -> int:
    if token in (".", "b"):
        return 0
    if token == "o":
        return 255
    if len(token) == 1 and "A" <= token <= "X":
        return ord(token) - ord("A") + 1
    if len(token) == 2 and token[0] in _PREFIX and "A" <= token[1] <= "X":
        v = (ord(token[0]) - ord("p")) * 24 + (ord(token[1]) - ord("A") + 25)
        if v <= 255:
            return v
    raise DataError(f"{where}: bad cell value {token!r}")


def parse_rle(text: str, dims: int, *, where: str = "cells") -> np.ndarray:
    """Decode one run-length-encoded pattern to a float32 array of ``dims`` axes with
    values in [0, 1] (Chan's ``rle2arr``; ragged rows and layers padded with zeros)."""
    if not isinstance(text, str):
        raise DataError(f"{where}: expected an RLE string, got {type(text).__name__}")
    if dims not in (1, 2, 3, 4):
        raise DataError(f"{where}: RLE patterns have 1 to 4 dimensions, not {dims}")
    body = _strip_header(text.strip(), dims, where)
    if "!" in body[:-1]:
        raise DataError(f"{where}: '!' may only end the pattern")
    body = body.rstrip("!")
    # stacks[0] is the current row, stacks[d] the current block of dimension d
    stacks: list[list] = [[] for _ in range(dims)]
    count, prefix, total = "", "", 0
    closing = {2: "$", 3: "%", 4: "#"}.get(dims, "")  # Chan appends the top-level delimiter
    for i, ch in enumerate(body + closing):
        if ch.isspace():
            continue
        if ch.isdigit():
            if prefix:
                raise DataError(f"{where}: count inside a two-character value at position {i}")
            count += ch
            continue
        if ch in _PREFIX:
            if prefix:
                raise DataError(f"{where}: bad cell value {prefix + ch!r} at position {i}")
            prefix = ch
            continue
        if len(count) > 9:
            raise DataError(f"{where}: repeat count {count[:12]}... at position {i} is too large")
        n = int(count) if count else 1
        if count and n == 0:
            raise DataError(f"{where}: zero repeat count at position {i}")
        if n > MAX_EXTENT:
            raise DataError(f"{where}: repeat count {n} at position {i} exceeds {MAX_EXTENT} cells")
        if ch in _DELIMS and not prefix:
            level = _DELIMS[ch]
            if level > dims - 1:
                raise DataError(f"{where}: delimiter {ch!r} at position {i} in a {dims}-D pattern")
            for d in range(level):  # close the row, then each block up to this level
                stacks[d + 1].append(stacks[d])
                stacks[d + 1].extend([] for _ in range(n - 1))
                stacks[d] = []
                if len(stacks[d + 1]) > MAX_EXTENT:
                    raise DataError(f"{where}: more than {MAX_EXTENT} rows/layers at position {i}")
        else:
            v = _value(prefix + ch, f"{where} (position {i})")
            if len(stacks[0]) + n > MAX_EXTENT:
                raise DataError(f"{where}: a row longer than {MAX_EXTENT} cells at position {i}")
            stacks[0].extend([v] * n)
            total += n
            if total > MAX_CELLS:
                raise DataError(f"{where}: more than {MAX_CELLS} cells")
        count, prefix = "", ""
    if count or prefix:
        raise DataError(f"{where}: pattern ends in the middle of a token")
    top = stacks[dims - 1] if dims > 1 else stacks[0]
    if dims == 1:
        arr = np.asarray(top, np.float32)
    else:
        arr = _cubify(top, dims, where)
    if arr.size == 0 or not np.any(arr):
        raise DataError(f"{where}: the pattern is empty")
    return arr / np.float32(255.0)


def _strip_header(body: str, dims: int, where: str) -> str:
    """Drop an optional Golly-style header line ``x = 20, y = 20[, ...]`` after checking
    its extents (at most :data:`MAX_EXTENT` each), so a hostile header fails before any
    allocation."""
    first, _, rest = body.partition("\n")
    if not re.match(r"^\s*x\s*=", first):
        return body
    for key, value in re.findall(r"\b([xyz])\s*=\s*([^,\s]+)", first):
        if not value.isdigit() or len(value) > 9 or not 1 <= int(value) <= MAX_EXTENT:
            raise DataError(f"{where}: header {key} = {value[:12]} must be an extent in 1..{MAX_EXTENT}")
    return rest.strip()


def _cubify(nested: list, dims: int, where: str = "cells") -> np.ndarray:
    shape = [0] * dims

    def measure(x, d):
        shape[d] = max(shape[d], len(x))
        if d < dims - 1:
            for y in x:
                measure(y, d + 1)

    measure(nested, 0)
    if int(np.prod(shape, dtype=np.int64)) > MAX_CELLS:
        raise DataError(f"{where}: the pattern's bounding box {shape} holds more than {MAX_CELLS} cells")
    out = np.zeros(shape, np.float32)

    def fill(x, d, index):
        if d == dims - 1:
            out[index + (slice(0, len(x)),)] = x
        else:
            for j, y in enumerate(x):
                fill(y, d + 1, index + (j,))

    fill(nested, 0, ())
    return out


def _checked(check: Callable[..., Any], where: str, *args: Any, **kwargs: Any) -> Any:
    """A :mod:`cax_zoo._validation` check of a data value: its ConfigError as a DataError
    naming ``where``."""
    try:
        return check(*args, **kwargs)
    except ConfigError as e:
        raise DataError(f"{where}: {e}") from None


def _number(params: Mapping[str, Any], key: str, where: str, *, positive: bool = True) -> float:
    if key not in params:
        raise DataError(f"{where}: params has no {key!r}")
    return _checked(check_float, where, f"params[{key!r}]", params[key],
                    minimum=0.0 if positive else None, open_minimum=positive)


def parse_kernel(spec: Any, where: str, num_channels: int) -> KernelSpec:
    """One kernel object ``{"b", "m", "s", "h", "r", "c0", "c1"}`` -> a validated
    :class:`KernelSpec` (``h``, ``r`` default to 1 and ``c0``, ``c1`` to 0): ring weights
    (:func:`parse_fractions`), ``m``, ``s``, ``r`` > 0, finite ``h``, channel indices in
    ``[0, num_channels)``. Every creature source (the catalogue, CAX's patterns) parses its
    kernels here."""
    if not isinstance(spec, Mapping):
        raise DataError(f"{where}: expected an object")
    channel = {key: _checked(check_int, where, f"{key} (a channel index of {num_channels} channels)",
                             spec.get(key, 0), minimum=0, maximum=num_channels - 1) for key in ("c0", "c1")}
    return KernelSpec(
        b=parse_fractions(spec.get("b"), where=f"{where} b"), m=_number(spec, "m", where),
        s=_number(spec, "s", where), h=_number(spec, "h", where, positive=False) if "h" in spec else 1.0,
        r=_number(spec, "r", where) if "r" in spec else 1.0, **channel)


def parse_kernels(specs: Any, where: str, num_channels: int) -> tuple[KernelSpec, ...]:
    """A list of 1 to :data:`MAX_KERNELS` kernel objects, each through :func:`parse_kernel`."""
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_KERNELS:
        raise DataError(f"{where}: kernels must be a list of 1 to {MAX_KERNELS} kernel objects")
    return tuple(parse_kernel(spec, f"{where} kernel {j}", num_channels) for j, spec in enumerate(specs))


def cells_array(cells: Any, where: str, *, ndim: int) -> np.ndarray:
    """Cells given as numbers (nested lists): a float32 array of ``ndim`` axes, not empty,
    every value in [0, 1]."""
    try:
        arr = np.asarray(cells, dtype=np.float32)
    except (ValueError, TypeError):
        raise DataError(f"{where}: cells must be an RLE string or a rectangular array of numbers") from None
    if arr.ndim != ndim or arr.size == 0:
        raise DataError(f"{where}: expected a {ndim}-D array of cells, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise DataError(f"{where}: cell values must lie in [0, 1]")
    return arr


def _channel_cells(cells: Any, dims: int, where: str) -> np.ndarray:
    if isinstance(cells, str):
        return parse_rle(cells, dims, where=where)
    return cells_array(cells, where, ndim=dims)


def parse_entry(entry: dict[str, Any], *, dims: int, source: str = "") -> Creature:
    """One catalogue entry -> :class:`Creature` (single- or multi-channel form)."""
    if not isinstance(entry, dict):
        raise DataError(f"catalogue entry must be an object, got {type(entry).__name__}")
    code = str(entry.get("code", ""))
    where = f"Lenia creature {code!r} ({entry.get('name', '')})"
    params, cells = entry.get("params"), entry.get("cells")
    if not isinstance(params, dict):
        raise DataError(f"{where}: params must be an object, got {type(params).__name__}")
    if cells is None:
        raise DataError(f"{where}: no cells")
    R, T = _number(params, "R", where), _number(params, "T", where)
    if "kernels" in params:
        if isinstance(cells, str) or not isinstance(cells, list) or not cells:
            raise DataError(f"{where}: a multi-channel entry needs one cells item per channel")
        channels = [_channel_cells(c, dims, f"{where} channel {i}") for i, c in enumerate(cells)]
        kernels = parse_kernels(params["kernels"], where, len(channels))
        core = _checked(check_choice, where, "kernel_core", params.get("kernel_core", "gaussian"), KERNEL_CORES)
        growth = _checked(check_choice, where, "growth", params.get("growth", "gaussian"), GROWTHS)
    else:
        channels = [_channel_cells(cells, dims, where)]
        kn = _checked(check_int, where, "kn (kernel core)", params.get("kn", 1), minimum=1, maximum=4)
        gn = _checked(check_int, where, "gn (growth function)", params.get("gn", 1), minimum=1, maximum=3)
        kernels = (parse_kernel({k: params[k] for k in ("b", "m", "s") if k in params}, where, 1),)
        core, growth = KERNEL_CORES[kn - 1], GROWTHS[gn - 1]
    shape = np.max([c.shape for c in channels], axis=0)
    stacked = np.zeros(tuple(int(n) for n in shape) + (len(channels),), np.float32)
    for i, c in enumerate(channels):
        stacked[tuple(slice(0, n) for n in c.shape) + (i,)] = c
    return Creature(code, str(entry.get("name", "")), str(entry.get("cname", "")), R, T,
                    kernels, core, growth, stacked, source)


# ------------------------------------------------------------------------- expanded universe
TESSELLATIUM_FILE = "lenia_tessellatium.json"
"""Package data: Chan's three-channel, fifteen-kernel Tessellatium gyrans (his tutorial's
``pattern["aquarium"]``) as ``{"source", "note", "entry"}``, ``entry`` in the catalogue's
multi-channel form (cells as one list of rows per channel)."""


def _package_json(filename: str) -> dict[str, Any]:
    raw = resources.files(__package__).joinpath(filename).read_bytes()
    doc = parse_json(raw, what=f"package data {filename}", error=DataError)
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), dict):
        raise DataError(f"package data {filename}: expected an object with an 'entry' object")
    return doc


def tessellatium_gyrans() -> Creature:
    """Tessellatium gyrans (VT049W) from the package's JSON data file."""
    doc = _package_json(TESSELLATIUM_FILE)
    return parse_entry(doc["entry"], dims=2, source=str(doc.get("source", "")))
