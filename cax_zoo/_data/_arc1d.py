"""1D-ARC (Xu et al. 2023, "LLMs and the Abstraction and Reasoning Corpus: Successes,
Failures, and the Importance of Object-based Representations"): 18 one-dimensional task
types in ARC's JSON layout.

Layout: ``<root>/<task_type>/<task_type>_<i>.json``, each
``{"train": [{"input": [[c, ...]], "output": [[c, ...]]}, ...], "test": [...]}`` with
colours 0-9 and one row per grid. Reads a folder the caller names, else
``$CAX_ZOO_DATA/1d-arc``, else downloads the public repository
(github.com/khalil-research/1D-ARC, MIT) into ``$CAX_ZOO_CACHE/1d-arc`` (default
``~/.cache/cax_zoo/1d-arc``). Every file is parsed strictly: a malformed file raises
:class:`~cax_zoo.DataError` naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np

from .._errors import DataError
from .._validation import parse_json
from ._files import cache_folder, fetch, read_bytes

TASK_TYPES: tuple[str, ...] = (
    "1d_denoising_1c", "1d_denoising_mc", "1d_fill", "1d_flip", "1d_hollow", "1d_mirror",
    "1d_move_1p", "1d_move_2p", "1d_move_2p_dp", "1d_move_3p", "1d_move_dp", "1d_padded_fill",
    "1d_pcopy_1c", "1d_pcopy_mc", "1d_recolor_cmp", "1d_recolor_cnt", "1d_recolor_oe",
    "1d_scale_dp",
)
"""The 18 task types of 1D-ARC (folder names of the original repository)."""

NUM_COLOURS = 10
REPO_ZIP = "https://github.com/khalil-research/1D-ARC/archive/refs/heads/main.zip"
# sha256 of the zip archive, pinned once known (the archive GitHub serves for a branch can
# change); when None, each task file is still parsed strictly and the archive's sha256 is
# written next to the cache so later reads can be compared with it.
REPO_ZIP_SHA256: str | None = None
MAX_TASK_BYTES = 1 << 20
"""Largest task file read (1D-ARC's are under 3 KB)."""
MAX_ROW_LENGTH = 4096
MAX_PAIRS = 1000
MAX_JSON_DEPTH = 8
MAX_ARCHIVE_BYTES = 1 << 28
_FILE_RE = re.compile(r"^(1d_[a-z0-9_]+)_(\d+)\.json$")


@dataclasses.dataclass(frozen=True)
class Arc1DTask:
    """One 1D-ARC task: demonstration pairs and test pairs, each grid an int8 ``(L,)``."""

    name: str  # e.g. "1d_move_1p_7"
    task_type: str
    index: int
    train: tuple[tuple[np.ndarray, np.ndarray], ...]
    test: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def max_length(self) -> int:
        return max(len(g) for pair in self.train + self.test for g in pair)


def _row(value, path: Path, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], list):
        raise DataError(f"{path}: {where} must be a grid with exactly one row [[c, ...]] (1-D), "
                        f"got {_short(value)}")
    row = value[0]
    if not row:
        raise DataError(f"{path}: {where} is an empty row")
    if len(row) > MAX_ROW_LENGTH:
        raise DataError(f"{path}: {where} has {len(row)} cells; the limit is {MAX_ROW_LENGTH}")
    for c in row:
        if isinstance(c, bool) or not isinstance(c, int):
            raise DataError(f"{path}: {where} holds {_short(c)}, not an integer colour")
        if not 0 <= c < NUM_COLOURS:
            raise DataError(f"{path}: {where} holds colour {_short(c)} outside 0-9")
    return np.asarray(row, np.int8)


def _short(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    try:
        text = json.dumps(value) if not isinstance(value, (bytes, bytearray)) else repr(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value).__name__)
    return text if len(text) <= 60 else text[:57] + "..."


def _loads(raw: bytes, where: str):
    """Parse a task's JSON strictly (see :func:`cax_zoo._validation.parse_json`)."""
    return parse_json(raw, what=where, max_depth=MAX_JSON_DEPTH, error=DataError)


def parse_task(payload: dict, path: Path, *, task_type: str, index: int) -> Arc1DTask:
    """Validate one task's JSON object (see the module docstring); ``path`` names it in errors."""
    if not isinstance(payload, dict):
        raise DataError(f"{path}: expected a JSON object with 'train' and 'test', got {type(payload).__name__}")
    parts = {}
    for split in ("train", "test"):
        pairs = payload.get(split)
        if not isinstance(pairs, list):
            raise DataError(f"{path}: missing or non-list {split!r} (expected a list of input/output pairs)")
        if not pairs:
            raise DataError(f"{path}: empty {split!r} list (a task needs at least one {split} pair)")
        if len(pairs) > MAX_PAIRS:
            raise DataError(f"{path}: {len(pairs)} {split} pairs; the limit is {MAX_PAIRS}")
        out = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, dict) or "input" not in pair or "output" not in pair:
                raise DataError(f"{path}: {split}[{i}] must be an object with 'input' and 'output'")
            x = _row(pair["input"], path, f"{split}[{i}].input")
            y = _row(pair["output"], path, f"{split}[{i}].output")
            if len(x) != len(y):
                raise DataError(f"{path}: {split}[{i}] input length {len(x)} differs from output "
                                f"length {len(y)} (1D-ARC keeps the length)")
            out.append((x, y))
        parts[split] = tuple(out)
    return Arc1DTask(f"{task_type}_{index}", task_type, index, parts["train"], parts["test"])


def read_task(path: str | os.PathLike) -> Arc1DTask:
    """Read and validate one task file ``<task_type>_<i>.json``."""
    path = Path(path)
    m = _FILE_RE.match(path.name)
    if not m:
        raise DataError(f"{path}: not a 1D-ARC task file name (expected <task_type>_<i>.json)")
    payload = _loads(read_bytes(path, max_bytes=MAX_TASK_BYTES, what="1D-ARC task file"), str(path))
    return parse_task(payload, path, task_type=m.group(1), index=int(m.group(2)))


def data_folder(data: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The 1D-ARC root: ``data`` (the root, or a folder holding ``1d-arc/``), else
    ``$CAX_ZOO_DATA/1d-arc``, else the download cache (downloaded on first use)."""
    if data is not None:
        for c in (Path(data), Path(data) / "1d-arc"):
            if c.is_dir() and _task_files(c):
                return c
        raise DataError(f"no 1D-ARC task files (<task_type>/<task_type>_<i>.json) under {data}")
    if os.environ.get("CAX_ZOO_DATA"):
        c = Path(os.environ["CAX_ZOO_DATA"]) / "1d-arc"
        if c.is_dir() and _task_files(c):
            return c
    cache = cache_folder("1d-arc")
    if not _task_files(cache):
        if not download:
            raise DataError(f"1D-ARC not found (set CAX_ZOO_DATA or pass a folder); cache {cache} is empty")
        download_arc1d(cache)
    return cache


def _task_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    files = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files += [f for f in sub.glob(f"{sub.name}_*.json") if _FILE_RE.match(f.name)]
    # a folder holding task files directly (one task type) is accepted too
    files += [f for f in root.glob("1d_*_*.json") if _FILE_RE.match(f.name)]
    return files


def download_arc1d(cache: Path, *, url: str = REPO_ZIP, sha256: str | None = REPO_ZIP_SHA256) -> Path:
    """Download the 1D-ARC repository archive and unpack ``dataset/<type>/*.json`` into
    ``cache``; verify the archive's sha256 when pinned and parse every file strictly."""
    try:
        payload = fetch(url, max_bytes=MAX_ARCHIVE_BYTES)
    except (OSError, ValueError) as e:
        raise DataError(f"could not download 1D-ARC from {url}: {e} (or set CAX_ZOO_DATA to a "
                        "folder with 1d-arc/)") from None
    digest = hashlib.sha256(payload).hexdigest()
    if sha256 is not None and digest != sha256:
        raise DataError(f"1D-ARC archive from {url} fails its sha256 check (got {digest}, expected {sha256})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise DataError(f"1D-ARC download from {url} is not a zip archive") from None
    tmp = cache.with_name(cache.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    n = 0
    for info in archive.infolist():
        parts = Path(info.filename).parts
        if len(parts) >= 2 and parts[-2] in TASK_TYPES and _FILE_RE.match(parts[-1]):
            if info.file_size > MAX_TASK_BYTES:
                raise DataError(f"{url}!{info.filename}: {info.file_size} bytes; the limit is {MAX_TASK_BYTES}")
            try:
                with archive.open(info) as member:  # the header's size may lie: read at most the limit
                    raw = member.read(MAX_TASK_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
                raise DataError(f"{url}!{info.filename}: cannot unpack: {e}") from None
            if len(raw) > MAX_TASK_BYTES:
                raise DataError(f"{url}!{info.filename}: larger than the limit of {MAX_TASK_BYTES} bytes")
            payload_json = _loads(raw, f"{url}!{info.filename}")
            m = _FILE_RE.match(parts[-1])
            parse_task(payload_json, Path(info.filename), task_type=m.group(1), index=int(m.group(2)))
            dest = tmp / parts[-2] / parts[-1]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(raw)
            n += 1
    if n == 0:
        raise DataError(f"the archive from {url} holds no 1D-ARC task files")
    (tmp / "SHA256").write_text(f"{digest}  {url}\n", encoding="utf-8")
    if cache.exists():
        shutil.rmtree(cache)
    os.replace(tmp, cache)
    return cache


def load_arc1d(
    data: str | os.PathLike | None = None,
    *,
    task_types: list[str] | tuple[str, ...] | None = None,
    indices: range | list[int] | tuple[int, ...] | None = None,
) -> list[Arc1DTask]:
    """Every task under the 1D-ARC root (see :func:`data_folder`), sorted by type and
    index, optionally only ``task_types`` and instance ``indices``."""
    if task_types is not None:
        unknown = [t for t in task_types if t not in TASK_TYPES]
        if unknown:
            raise DataError(f"unknown 1D-ARC task type(s) {unknown}; known: {', '.join(TASK_TYPES)}")
    root = data_folder(data)
    tasks = []
    for f in _task_files(root):
        m = _FILE_RE.match(f.name)
        if task_types is not None and m.group(1) not in task_types:
            continue
        if indices is not None and int(m.group(2)) not in indices:
            continue
        tasks.append(read_task(f))
    if not tasks:
        raise DataError(f"no 1D-ARC tasks under {root} match task_types={task_types} indices={indices}")
    tasks.sort(key=lambda t: (t.task_type, t.index))
    return tasks


# ---------------------------------------------------------------- padding and augmentation
def pad_pairs(pairs, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, outputs, mask)`` arrays ``(N, length)``: grids padded with 0 to ``length``
    and a bool mask of the real cells."""
    n = len(pairs)
    xs = np.zeros((n, length), np.int32)
    ys = np.zeros((n, length), np.int32)
    mask = np.zeros((n, length), bool)
    for i, (x, y) in enumerate(pairs):
        if len(x) > length:
            raise DataError(f"grid of length {len(x)} does not fit the padded length {length}")
        xs[i, : len(x)], ys[i, : len(y)], mask[i, : len(x)] = x, y, True
    return xs, ys, mask


def permute_colours(task: Arc1DTask, perm: np.ndarray) -> Arc1DTask:
    """The task with colour ``c`` replaced by ``perm[c]`` in every grid (``perm`` a
    permutation of 0-9 that fixes 0, the background), so every pair keeps its meaning."""
    perm = np.asarray(perm)
    if perm.shape != (NUM_COLOURS,) or perm[0] != 0 or sorted(perm.tolist()) != list(range(NUM_COLOURS)):
        raise DataError(f"perm must be a permutation of 0-9 fixing 0, got {perm.tolist()}")
    f = lambda pairs: tuple((perm[x].astype(np.int8), perm[y].astype(np.int8)) for x, y in pairs)
    return dataclasses.replace(task, train=f(task.train), test=f(task.test))


def mirror(task: Arc1DTask) -> Arc1DTask:
    """The task with every grid (inputs and outputs, demonstrations and tests) reversed: a
    consistent mirror image (a move to the right becomes a move to the left throughout)."""
    f = lambda pairs: tuple((x[::-1].copy(), y[::-1].copy()) for x, y in pairs)
    return dataclasses.replace(task, train=f(task.train), test=f(task.test))


def random_colour_permutation(rng: np.random.Generator, fixed: set[int] | frozenset[int] = frozenset()) -> np.ndarray:
    """A permutation of 0-9 fixing 0 and the colours in ``fixed``, shuffling the others."""
    perm = np.arange(NUM_COLOURS)
    free = [c for c in range(1, NUM_COLOURS) if c not in fixed]
    perm[free] = rng.permutation(free)
    return perm


def introduced_colours(task: Arc1DTask) -> frozenset[int]:
    """Colours some demonstration output shows that its input does not: colours the rule
    itself names (e.g. the recolouring targets), which colour augmentation must keep."""
    out = set()
    for x, y in task.train:
        out |= set(np.unique(y).tolist()) - set(np.unique(x).tolist())
    return frozenset(out)


def canonical_permutation(row: np.ndarray, fixed: set[int] | frozenset[int] = frozenset()) -> np.ndarray:
    """The permutation of 0-9 that renames the colours of ``row`` other than 0 and
    ``fixed`` in order of first appearance to the lowest such colours (1, 2, ... skipping
    ``fixed``); the remaining colours follow in order."""
    free = [c for c in range(1, NUM_COLOURS) if c not in fixed]
    seen: list[int] = []
    for c in np.asarray(row).tolist():
        if c in free and c not in seen:
            seen.append(c)
    order = seen + [c for c in free if c not in seen]
    perm = np.arange(NUM_COLOURS)
    perm[order] = free
    return perm


def canonicalise(task: Arc1DTask) -> tuple[Arc1DTask, list[np.ndarray]]:
    """The task with every pair's colours renamed by :func:`canonical_permutation` of its
    input (colours the rule names, :func:`introduced_colours`, and 0 kept), so that
    demonstrations that differ only in their colours become the same; and each test
    pair's inverse permutation (to map a predicted output back). Valid for rules that
    treat the other colours alike, the premise of colour augmentation too."""
    fixed = introduced_colours(task)
    f = lambda x, y, p: (p[x].astype(np.int8), p[y].astype(np.int8))
    train = tuple(f(x, y, canonical_permutation(x, fixed)) for x, y in task.train)
    perms = [canonical_permutation(x, fixed) for x, _ in task.test]
    test = tuple(f(x, y, p) for (x, y), p in zip(task.test, perms))
    return dataclasses.replace(task, train=train, test=test), [np.argsort(p) for p in perms]
