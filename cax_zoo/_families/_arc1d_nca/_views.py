"""What each cell of a 1D-ARC row sees: views of the row's state, each linear in it (the
cells around it, the row's mean, its segment's mean, decayed sums to either side)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._data._arc1d import NUM_COLOURS
from ..._nca._perceive import neighbourhood_patches

MASK = NUM_COLOURS  # a row state's channels: the input colour one-hot (0-9), then the validity mask
FIXED = NUM_COLOURS + 1  # the channels a step never changes; hidden channels follow


def segment_means(state: Float[Array, "L C"], mask_channel: int) -> Float[Array, "L C"]:
    """Each cell's mean state over its *segment*: the run of consecutive real cells of its
    input colour (channels ``0..mask_channel-1`` one-hot, ``mask_channel`` the validity
    mask), widened by one cell on each side, so an object's cells see the object as a
    whole and what bounds it, and a gap's cells the gap and the two ends around it.
    Padding cells are no one's segment and get zeros."""
    n = state.shape[0]
    mask = state[:, mask_channel] > 0.5
    colour = jnp.where(mask, jnp.argmax(state[:, :mask_channel], axis=-1), -1)
    idx = jnp.arange(n)
    change = colour[1:] != colour[:-1]  # a segment ends at i and the next starts at i + 1
    starts = jnp.concatenate([jnp.ones((1,), bool), change])
    ends = jnp.concatenate([change, jnp.ones((1,), bool)])
    first = jax.lax.cummax(jnp.where(starts, idx, 0))
    last = jax.lax.cummin(jnp.where(ends, idx, n - 1), reverse=True)
    lo, hi = jnp.maximum(first - 1, 0), jnp.minimum(last + 1, n - 1)
    weights = mask.astype(state.dtype)[:, None]
    sums = jnp.concatenate([jnp.zeros((1, state.shape[1]), state.dtype), jnp.cumsum(state * weights, axis=0)])
    counts = jnp.concatenate([jnp.zeros((1,), state.dtype), jnp.cumsum(weights[:, 0])])
    total = sums[hi + 1] - sums[lo]
    count = counts[hi + 1] - counts[lo]
    return jnp.where(mask[:, None], total / jnp.maximum(count, 1.0)[:, None], 0.0)


def directional_context(state: Float[Array, "L C"], mask_channel: int, decay: float) -> Float[Array, "L 2C"]:
    """Each cell's view of the row on either side: ``left[i] = (1 - decay) * sum_{j < i}
    decay**(i - 1 - j) * state[j]`` over the real cells (``state[:, mask_channel]``), and
    ``right`` the same over ``j > i``, concatenated ``[left, right]``. Unlike the row mean
    it says on which side, and how near, an object or a marker lies; padding adds nothing."""
    n = state.shape[0]
    d = np.arange(n)[:, None] - np.arange(n)[None, :]  # i - j
    left = np.where(d >= 1, (1.0 - decay) * decay ** np.maximum(d - 1, 0), 0.0).astype(np.float32)
    real = state * state[:, mask_channel : mask_channel + 1]
    return jnp.concatenate([left @ real, left.T @ real], axis=-1)


def num_views(num_offsets: int, pooled: bool, segments: bool, context_decays: Sequence[float]) -> int:
    """How many state-shaped views :func:`row_views` returns."""
    return num_offsets + int(pooled) + int(segments) + 2 * len(context_decays)


def row_views(state: Float[Array, "L C"], offsets: Sequence[tuple[int]], *, pooled: bool, segments: bool,
              context_decays: Sequence[float], mask_channel: int) -> Float[Array, "L V C"]:
    """What each cell of a row sees, as ``V`` views of the state (each linear in it): the
    cells at ``offsets`` (zero outside), then with ``pooled`` the mean state of the row's
    real cells (``state[:, mask_channel]`` weighs them; padding-length invariant), with
    ``segments`` the mean state of the cell's segment (:func:`segment_means`), and for
    each of ``context_decays`` the decayed sums on its left and on its right
    (:func:`directional_context`)."""
    n, c = state.shape
    views = [neighbourhood_patches(state, offsets, "zero").reshape(n, len(offsets), c)]
    if pooled:
        mask = state[:, mask_channel : mask_channel + 1]
        mean = jnp.sum(state * mask, axis=0) / jnp.maximum(jnp.sum(mask), 1.0)
        views.append(jnp.broadcast_to(mean, state.shape)[:, None])
    if segments:
        views.append(segment_means(state, mask_channel)[:, None])
    for decay in context_decays:
        views.append(directional_context(state, mask_channel, decay).reshape(n, 2, c))
    return jnp.concatenate(views, axis=1)
