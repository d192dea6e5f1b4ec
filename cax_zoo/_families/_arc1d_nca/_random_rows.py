"""Random 1D-ARC-like rows, the initial states ``init_state`` draws for the 1-D models."""

from __future__ import annotations

import jax
import numpy as np
from jaxtyping import Int, PRNGKeyArray

from ..._validation import check_int


def random_block_rows(n: int, *, key: PRNGKeyArray | None, batch_size: int | None = None) -> Int[np.ndarray, "*B n"]:
    """A row of ``n`` cells holding one block of one colour (1-9) on background, drawn from
    ``key`` (fresh entropy without one); with ``batch_size``, that many rows ``(B, n)`` from
    splits of ``key``. Drawn in numpy: the rows are data, not a traced computation."""

    def one(k) -> np.ndarray:
        rng = np.random.default_rng(None if k is None else int(jax.random.randint(k, (), 0, 2**31 - 1)))
        row = np.zeros(n, np.int32)
        a = int(rng.integers(0, max(1, n - 3)))
        row[a : a + int(rng.integers(1, max(2, n - a)))] = int(rng.integers(1, 10))
        return row

    if batch_size is None:
        return one(key)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=1_000_000)
    if key is None:
        key = jax.random.PRNGKey(int(np.random.default_rng().integers(0, 2**31 - 1)))
    return np.stack([one(k) for k in jax.random.split(key, batch_size)])
