"""Sample pools (Mordvintsev et al. 2020): training batches are drawn from a pool of
states that earlier iterations produced, and written back after the update, so the
model learns to keep its pattern stable over long horizons. Pure functions on PyTrees."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray


def pool_sample(pool: Any, key: PRNGKeyArray, batch_size: int) -> tuple[Int[Array, " B"], Any]:
    """``batch_size`` distinct pool indices and the corresponding entries of every leaf."""
    n = jax.tree_util.tree_leaves(pool)[0].shape[0]
    idx = jax.random.choice(key, n, (batch_size,), replace=False)
    return idx, jax.tree_util.tree_map(lambda x: x[idx], pool)


def pool_update(pool: Any, idx: Int[Array, " B"], batch: Any) -> Any:
    """Write ``batch`` back into the pool at ``idx``."""
    return jax.tree_util.tree_map(lambda p, b: p.at[idx].set(b.astype(p.dtype)), pool, batch)


def order_by_loss(batch: Any, losses: Float[Array, " B"]) -> Any:
    """The batch sorted by decreasing loss (worst first), as the paper does before
    replacing the worst samples with fresh seeds."""
    order = jnp.argsort(-losses)
    return jax.tree_util.tree_map(lambda x: x[order], batch)


def replace_first(batch: Any, fresh: Any, count: int) -> Any:
    """Replace the first ``count`` entries of ``batch`` with those of ``fresh``."""
    if count <= 0:
        return batch
    return jax.tree_util.tree_map(lambda b, f: b.at[:count].set(f[:count].astype(b.dtype)), batch, fresh)


def circle_masks(
    key: PRNGKeyArray, count: int, shape: tuple[int, int], *, radius: tuple[float, float] = (0.1, 0.4)
) -> Float[Array, "count H W 1"]:
    """Masks that are 0 inside a random disc (the damage of the growing-NCA paper: centre
    uniform in the middle half, radius a random fraction of the size) and 1 elsewhere."""
    h, w = shape
    kc, kr = jax.random.split(key)
    centre = jax.random.uniform(kc, (count, 2), minval=-0.5, maxval=0.5)
    r = jax.random.uniform(kr, (count, 1, 1), minval=radius[0], maxval=radius[1])
    y = jnp.linspace(-1.0, 1.0, h)[None, :, None]
    x = jnp.linspace(-1.0, 1.0, w)[None, None, :]
    d2 = (y - centre[:, 0, None, None]) ** 2 + (x - centre[:, 1, None, None]) ** 2
    return (d2 > r**2).astype(jnp.float32)[..., None]
