"""Neighbour candidates for particle systems: all pairs (small N) or a cell list (large N).

A cell list bins particles into a uniform grid of cells whose side is at least the
interaction radius, with a fixed maximum occupancy per cell, so that every particle's
neighbours within that radius lie in the ``3^d`` cells around its own. Memory is
``O(N * 3^d * max_occupancy)`` instead of ``O(N^2)``. In a periodic box the grid tiles the
box; in open space the grid is a spatial hash (cell coordinates taken modulo the grid), so
distant particles may share a cell: they become extra candidates, never missed ones.

Every function here is pure and jittable; the static arguments (grid shape, occupancy)
are Python values.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._errors import ConfigError

NeighbourMethod = Literal["all_pairs", "cell_list", "auto"]
NEIGHBOUR_METHODS: tuple[str, ...] = ("all_pairs", "cell_list", "auto")

AUTO_ALL_PAIRS_MAX = 2048
"""With ``neighbour_method="auto"``, systems of at most this many particles use all pairs."""


def check_neighbour_method(method: str) -> str:
    if method not in NEIGHBOUR_METHODS:
        raise ConfigError(
            f"unknown neighbour_method {method!r}; expected one of {', '.join(NEIGHBOUR_METHODS)}"
        )
    return method


def resolve_method(method: str, num_particles: int) -> str:
    """``"auto"`` -> ``"all_pairs"`` for at most :data:`AUTO_ALL_PAIRS_MAX` particles,
    else ``"cell_list"``."""
    if method == "auto":
        return "all_pairs" if num_particles <= AUTO_ALL_PAIRS_MAX else "cell_list"
    return method


def periodic_grid(box_size: float, cutoff: float, num_spatial_dims: int) -> tuple[tuple[int, ...], float]:
    """The cell grid of a periodic box: ``floor(box_size / cutoff)`` cells per axis (at
    least one), each of side ``box_size / cells >= cutoff``."""
    if not cutoff > 0 or not box_size > 0:
        raise ConfigError(f"cell list needs a positive box size and cutoff, got {box_size}, {cutoff}")
    m = max(1, int(math.floor(box_size / cutoff)))
    return (m,) * num_spatial_dims, float(box_size) / m


def displacement(
    xi: Float[Array, "... d"], xj: Float[Array, "... d"], box_size: float | None
) -> Float[Array, "... d"]:
    """``xj - xi``, by the minimum image convention in a periodic box of side ``box_size``
    (open space when None)."""
    dx = xj - xi
    if box_size is not None:
        dx = dx - box_size * jnp.round(dx / box_size)
    return dx


def _axis_offsets(grid_shape: tuple[int, ...]) -> np.ndarray:
    """Offsets ``(n, d)`` of the adjacent cells, with duplicates removed where an axis has
    fewer than 3 cells (so no pair is counted twice)."""
    per_axis = [sorted({o % m for o in (-1, 0, 1)}) for m in grid_shape]
    return np.array(list(itertools.product(*per_axis)), dtype=np.int32).reshape(-1, len(grid_shape))


def cell_coordinates(
    positions: Float[Array, "N d"], cell_size: float, grid_shape: tuple[int, ...]
) -> Int[Array, "N d"]:
    """Integer cell coordinates ``floor(x / cell_size) mod grid`` of every particle."""
    c = jnp.floor(positions / cell_size).astype(jnp.int32)
    return jnp.mod(c, jnp.asarray(grid_shape, jnp.int32))


def _flat(coords: Int[Array, "... d"], grid_shape: tuple[int, ...]) -> Int[Array, "..."]:
    strides = np.cumprod((1,) + tuple(grid_shape[::-1]))[:-1][::-1].astype(np.int32)
    return (coords * jnp.asarray(strides)).sum(-1)


def build_cell_table(
    positions: Float[Array, "N d"],
    cell_size: float,
    grid_shape: tuple[int, ...],
    max_occupancy: int,
) -> tuple[Int[Array, "cells K"], Int[Array, "N d"], Int[Array, ""]]:
    """Sort particles into cells.

    Returns ``(table, coords, max_count)``: ``table[c]`` lists the particles of flat cell
    ``c`` (padded with ``N``, the "no particle" index), ``coords`` the cell coordinates of
    every particle, and ``max_count`` the fullest cell's count; when it exceeds
    ``max_occupancy`` the surplus particles were dropped from the table.
    """
    n = positions.shape[0]
    num_cells = int(np.prod(grid_shape))
    coords = cell_coordinates(positions, cell_size, grid_shape)
    cell = _flat(coords, grid_shape)
    order = jnp.argsort(cell, stable=True)
    sorted_cell = cell[order]
    start = jnp.searchsorted(sorted_cell, jnp.arange(num_cells, dtype=sorted_cell.dtype))
    rank = jnp.arange(n, dtype=jnp.int32) - start[sorted_cell].astype(jnp.int32)
    table = jnp.full((num_cells, max_occupancy), n, jnp.int32)
    table = table.at[sorted_cell, rank].set(order.astype(jnp.int32), mode="drop")
    max_count = jnp.max(jnp.bincount(cell, length=num_cells))
    return table, coords, max_count


def cell_list_candidates(
    positions: Float[Array, "N d"],
    cell_size: float,
    grid_shape: tuple[int, ...],
    max_occupancy: int,
) -> tuple[Int[Array, "N M"], Int[Array, ""]]:
    """Neighbour candidates from the cell list: for each particle, the occupants of its
    own and adjacent cells, ``M = 3^d * max_occupancy`` indices padded with ``N``
    (the particle itself is among them). Also returns the fullest cell's count."""
    positions = jax.lax.stop_gradient(positions)
    table, coords, max_count = build_cell_table(positions, cell_size, grid_shape, max_occupancy)
    offsets = jnp.asarray(_axis_offsets(grid_shape))
    neighbour_cells = jnp.mod(coords[:, None, :] + offsets[None], jnp.asarray(grid_shape, jnp.int32))
    idx = table[_flat(neighbour_cells, grid_shape)]  # (N, 3^d, K)
    return idx.reshape(positions.shape[0], -1), max_count


def all_pairs_candidates(num_particles: int) -> Int[Array, "N N"]:
    """Every particle is a candidate neighbour of every particle (itself included)."""
    return jnp.broadcast_to(jnp.arange(num_particles, dtype=jnp.int32), (num_particles, num_particles))


def neighbour_pairs(
    positions: Float[Array, "N d"],
    idx: Int[Array, "N M"],
    box_size: float | None,
    *,
    sources: Float[Array, "N d"] | None = None,
) -> tuple[Float[Array, "N M d"], Bool[Array, "N M"]]:
    """Displacements ``x_j - x_i`` to each candidate ``j = idx[i, m]`` and the mask of real
    neighbours (not padding, not the particle itself). Masked entries get a harmless unit
    displacement so distances and their gradients stay finite.

    ``sources`` (default ``positions``) are the positions read for the ``x_j``; pass
    ``jax.lax.stop_gradient(positions)`` to differentiate with respect to ``x_i`` only.
    """
    n, d = positions.shape
    src = positions if sources is None else sources
    valid = (idx < n) & (idx != jnp.arange(n, dtype=idx.dtype)[:, None])
    xj = src[jnp.minimum(idx, n - 1)]
    dx = displacement(positions[:, None, :], xj, box_size)
    dx = jnp.where(valid[..., None], dx, jnp.ones((d,), dx.dtype))
    return dx, valid


def safe_norm(dx: Float[Array, "... d"], eps: float = 1e-10) -> Float[Array, "..."]:
    """``|dx|`` with a finite gradient at zero."""
    return jnp.sqrt(jnp.maximum((dx * dx).sum(-1), eps))


def find_neighbours(
    positions: Float[Array, "N d"],
    *,
    method: str,
    box_size: float | None,
    cutoff: float,
    max_occupancy: int,
    hash_cells: int = 32,
    name: str = "particle system",
    sources: Float[Array, "N d"] | None = None,
) -> tuple[Int[Array, "N M"], Float[Array, "N M d"], Bool[Array, "N M"], Float[Array, "N d"]]:
    """Displacements to neighbour candidates and their mask, by all pairs or a cell list
    (``method`` after resolving ``"auto"`` on the particle count).

    The cell list uses cells of side >= ``cutoff`` tiling a periodic box, or in open space
    (``box_size=None``) a spatial hash of ``hash_cells`` cells per axis. If a cell holds
    more than ``max_occupancy`` particles the computation raises at run time (via
    :func:`equinox.error_if`) instead of silently dropping neighbours. Returns
    ``(idx, dx, valid, positions)``: candidate indices ``(N, M)`` (``N`` = padding), the
    displacements ``x_j - x_i``, the mask of real neighbours, and ``positions`` (use these:
    they carry the occupancy check).
    """
    n, d = positions.shape
    method = resolve_method(method, n)
    if method == "cell_list":
        if box_size is not None:
            grid, cell = periodic_grid(box_size, cutoff, d)
        else:
            grid, cell = (int(hash_cells),) * d, float(cutoff)
        idx, max_count = cell_list_candidates(positions, cell, grid, max_occupancy)
        positions = eqx.error_if(
            positions,
            max_count > max_occupancy,
            f"{name}: a cell of the cell list holds more than max_occupancy={max_occupancy} "
            "particles; raise max_occupancy (or use neighbour_method='all_pairs')",
        )
    else:
        idx = all_pairs_candidates(n)
    dx, valid = neighbour_pairs(positions, idx, box_size, sources=sources)
    return idx, dx, valid, positions
