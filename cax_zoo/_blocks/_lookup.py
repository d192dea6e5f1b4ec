"""Lookup-table rules: the next state of a cell is a table entry indexed by its neighbourhood."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from .._boundary import Boundary
from ._neighbourhood import shifted_views


def pattern_index(
    x: Int[Array, "*spatial"],
    offsets: np.ndarray,
    base: int,
    boundary: Boundary,
    *,
    num_spatial_dims: int,
) -> Int[Array, "*spatial"]:
    """Each cell's neighbourhood read as a number in ``base``, the first offset being the
    most significant digit (Wolfram's convention for elementary CA: left, centre, right)."""
    views = shifted_views(x.astype(jnp.int32), offsets, boundary, num_spatial_dims=num_spatial_dims)
    index = jnp.zeros(x.shape, jnp.int32)
    for v in views:
        index = index * base + v
    return index


def apply_table(table: Int[Array, " n"], index: Int[Array, "*spatial"]) -> Int[Array, "*spatial"]:
    """``table[index]`` elementwise (a gather that XLA fuses)."""
    return jnp.take(table, index, mode="clip")
