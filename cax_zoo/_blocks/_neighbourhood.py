"""Moore and von Neumann neighbourhoods of any radius and dimension, and neighbour sums."""

from __future__ import annotations

import itertools
from typing import Literal

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._boundary import Boundary, pad
from .._errors import ConfigError
from .._validation import check_int

Neighbourhood = Literal["moore", "von_neumann"]

MAX_OFFSETS = 1 << 16
"""Most cells a neighbourhood may span (each is one shifted copy of the grid per step)."""


def neighbourhood_offsets(
    kind: Neighbourhood, radius: int, num_spatial_dims: int, *, include_centre: bool = False
) -> np.ndarray:
    """Integer offsets ``(n, num_spatial_dims)`` of a neighbourhood, in lexicographic order.

    Moore: every offset with max-norm <= radius; von Neumann: L1-norm <= radius.
    """
    if not isinstance(kind, str) or kind not in ("moore", "von_neumann"):
        raise ConfigError(f"unknown neighbourhood {kind!r}; expected 'moore' or 'von_neumann'")
    radius = check_int("radius", radius, minimum=1)
    num_spatial_dims = check_int("num_spatial_dims", num_spatial_dims, minimum=1)
    if (2 * radius + 1) ** num_spatial_dims > MAX_OFFSETS:
        raise ConfigError(
            f"a radius-{radius} neighbourhood in {num_spatial_dims}-D spans "
            f"{2 * radius + 1}**{num_spatial_dims} cells; the limit is {MAX_OFFSETS}"
        )
    rng = range(-radius, radius + 1)
    offsets = []
    for o in itertools.product(rng, repeat=num_spatial_dims):
        if not include_centre and not any(o):
            continue
        if kind == "von_neumann" and sum(abs(v) for v in o) > radius:
            continue
        offsets.append(o)
    return np.array(offsets, dtype=np.int32)


def shifted_views(
    x: Array, offsets: np.ndarray, boundary: Boundary, *, num_spatial_dims: int
) -> list[Array]:
    """For each offset ``o``, the array whose cell ``i`` holds ``x[i + o]`` under the boundary.

    ``x`` has shape ``(*spatial, ...)``; trailing axes are carried along.
    """
    radius = int(np.abs(offsets).max()) if len(offsets) else 0
    spatial = x.shape[:num_spatial_dims]
    if boundary == "periodic":
        axes = tuple(range(num_spatial_dims))
        return [jnp.roll(x, tuple(-int(v) for v in o), axis=axes) for o in offsets]
    padded = pad(x, radius, boundary, num_spatial_dims=num_spatial_dims)
    views = []
    for o in offsets:
        idx = tuple(slice(radius + int(v), radius + int(v) + n) for v, n in zip(o, spatial))
        views.append(padded[idx])
    return views


def neighbour_sum(
    x: Array,
    kind: Neighbourhood = "moore",
    radius: int = 1,
    boundary: Boundary = "periodic",
    *,
    num_spatial_dims: int,
    include_centre: bool = False,
) -> Array:
    """Sum of ``x`` over each cell's neighbourhood (e.g. live-neighbour counts for Life)."""
    offsets = neighbourhood_offsets(kind, radius, num_spatial_dims, include_centre=include_centre)
    views = shifted_views(x, offsets, boundary, num_spatial_dims=num_spatial_dims)
    total = views[0]
    for v in views[1:]:
        total = total + v
    return total
