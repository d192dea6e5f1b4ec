"""Fixed-size batches over a dataset, so one compiled function serves every batch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._errors import DataError
from .._validation import check_int


def padded_batches(*arrays: np.ndarray, batch_size: int, progress: bool = False,
                   desc: str = "evaluate") -> Iterator[tuple[int, tuple[np.ndarray, ...], int]]:
    """``(i, parts, count)`` for consecutive batches of the arrays (same length ``N``):
    ``parts`` are the arrays' rows ``[i * b, i * b + count)``, the last batch padded with
    zero rows to ``b = min(batch_size, N)`` so every batch has one shape; score only
    ``[:count]``. ``progress`` shows a tqdm bar."""
    if not arrays:
        raise DataError("padded_batches needs at least one array")
    n = len(arrays[0])
    if n == 0:
        raise DataError("no examples to batch")
    if any(len(a) != n for a in arrays):
        raise DataError(f"arrays of different lengths: {[len(a) for a in arrays]}")
    size = min(check_int("batch_size", batch_size, minimum=1, maximum=1 << 24), n)
    starts = range(0, n, size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, unit="batch")
    for i, start in enumerate(starts):
        parts = tuple(np.asarray(a[start : start + size]) for a in arrays)
        count = len(parts[0])
        if count < size:
            parts = tuple(np.concatenate([p, np.zeros((size - count,) + p.shape[1:], p.dtype)]) for p in parts)
        yield i, parts, count
