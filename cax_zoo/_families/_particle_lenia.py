"""Particle Lenia (Mordvintsev, Niklasson, Randazzo, Chan 2022): particles that descend an
energy field made of a Lenia-like growth term and a short-range repulsion."""

from __future__ import annotations

from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._cell_list import NeighbourMethod, find_neighbours, safe_norm
from .._errors import ConfigError
from .._particles import (
    AbstractParticleSystem,
    ParticleState,
    check_box,
    check_cell_options,
    check_dims,
    check_positive,
    check_size,
    prepare_particle_state,
)
from .._registry import register

Motion = Literal["local", "total"]


def peak(x: Array, mu: float, sigma: float) -> Array:
    """The bell ``exp(-((x - mu) / sigma)^2)`` used for both the kernel and the growth."""
    return jnp.exp(-(((x - mu) / sigma) ** 2))


@register(
    "particle_lenia",
    description="Particle Lenia: particles descending a Lenia-like energy field (open space or periodic box)",
    paper="Mordvintsev, Niklasson, Randazzo, Chan 2022, Particle Lenia and the energy-based "
    "formulation (Google Research, Self-Organising Systems)",
    tags=("particles", "2d", "energy"),
)
class ParticleLenia(AbstractParticleSystem):
    """Particle Lenia: ``N`` particles in ``d`` dimensions descending an energy field.

    For a point ``x`` and the other particles ``x_j``::

        U(x) = w_k * sum_j exp(-((|x - x_j| - mu_k) / sigma_k)^2)      (Lenia field)
        G(x) = exp(-((U(x) - mu_g) / sigma_g)^2)                      (growth)
        R(x) = c_rep / 2 * sum_j max(1 - |x - x_j|, 0)^2               (repulsion)
        E(x) = R(x) - G(x)

    ``motion="local"`` (the paper's rule): each particle moves by ``-dt * grad E`` of the
    field the others make, ``x_i += -dt * grad_x E(x)|_{x=x_i}`` (``jax.grad`` with the
    sources held fixed); this is not a gradient flow of the total energy, which is what
    lets rotating "rotators" exist. ``motion="total"``: gradient descent on the total
    energy :meth:`energy` ``= sum_i E(x_i)``, which then decreases monotonically for a
    small enough ``dt``.

    State: :class:`~cax_zoo.ParticleState`; ``velocities`` hold the last motion
    ``-grad E``; ``types`` are all 0. Space is open (``box_size=None``, as in the paper)
    or a periodic box.

    The cell list neglects pairs farther apart than ``cutoff`` (default
    ``mu_k + 4 sigma_k``, where the kernel is ``w_k e^-16 ~ 2.5e-9``); all pairs keep them.
    """

    family = "particle_lenia"
    mu_k: float = eqx.field(static=True)
    sigma_k: float = eqx.field(static=True)
    w_k: float = eqx.field(static=True)
    mu_g: float = eqx.field(static=True)
    sigma_g: float = eqx.field(static=True)
    c_rep: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    motion: str = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    box_size: float | None = eqx.field(static=True)
    neighbour_method: str = eqx.field(static=True)
    max_occupancy: int = eqx.field(static=True)
    cutoff: float = eqx.field(static=True)
    hash_cells: int = eqx.field(static=True)
    num_types: int = eqx.field(static=True, default=1)  # one species

    num_types = 1

    def __init__(
        self,
        *,
        mu_k: float = 4.0,
        sigma_k: float = 1.0,
        w_k: float = 0.022,
        mu_g: float = 0.6,
        sigma_g: float = 0.15,
        c_rep: float = 1.0,
        dt: float = 0.1,
        motion: Motion = "local",
        num_spatial_dims: int = 2,
        box_size: float | None = None,
        neighbour_method: NeighbourMethod = "auto",
        max_occupancy: int = 160,
        cutoff: float | None = None,
        hash_cells: int = 32,
    ):
        name = "particle_lenia"
        self.mu_k = check_positive(mu_k, "mu_k", name, allow_zero=True)
        self.sigma_k = check_positive(sigma_k, "sigma_k", name)
        self.w_k = check_positive(w_k, "w_k", name, allow_zero=True)
        self.mu_g = check_positive(mu_g, "mu_g", name, allow_zero=True)
        self.sigma_g = check_positive(sigma_g, "sigma_g", name)
        self.c_rep = check_positive(c_rep, "c_rep", name, allow_zero=True)
        self.dt = check_positive(dt, "dt", name)
        if motion not in ("local", "total"):
            raise ConfigError(f"{name}: motion must be 'local' (the paper) or 'total', got {motion!r}")
        self.motion = motion
        self.num_spatial_dims = check_dims(num_spatial_dims, name)
        self.box_size = check_box(box_size, name, allow_none=True)
        self.neighbour_method, self.max_occupancy = check_cell_options(neighbour_method, max_occupancy, name)
        if cutoff is None:
            cutoff = self.mu_k + 4.0 * self.sigma_k
        self.cutoff = check_positive(cutoff, "cutoff", name)
        if self.cutoff < 1.0:
            raise ConfigError(f"{name}: cutoff must cover the repulsion radius 1, got {cutoff}")
        if isinstance(hash_cells, bool) or not isinstance(hash_cells, int) or hash_cells < 1:
            raise ConfigError(f"{name}: hash_cells must be a positive integer, got {hash_cells!r}")
        self.hash_cells = hash_cells

    def config(self) -> dict[str, Any]:
        return {
            "mu_k": self.mu_k, "sigma_k": self.sigma_k, "w_k": self.w_k, "mu_g": self.mu_g,
            "sigma_g": self.sigma_g, "c_rep": self.c_rep, "dt": self.dt, "motion": self.motion,
            "num_spatial_dims": self.num_spatial_dims, "box_size": self.box_size,
            "neighbour_method": self.neighbour_method, "max_occupancy": self.max_occupancy,
            "cutoff": self.cutoff, "hash_cells": self.hash_cells,
        }

    # ------------------------------------------------------------------ physics
    def _fields(self, x: Float[Array, "N d"], sources: Float[Array, "N d"] | None):
        _, dx, valid, _ = find_neighbours(
            x, method=self.neighbour_method, box_size=self.box_size, cutoff=self.cutoff,
            max_occupancy=self.max_occupancy, hash_cells=self.hash_cells, name="particle_lenia",
            sources=sources,
        )
        r = safe_norm(dx)
        u = self.w_k * jnp.where(valid, peak(r, self.mu_k, self.sigma_k), 0.0).sum(-1)
        g = peak(u, self.mu_g, self.sigma_g)
        rep = 0.5 * self.c_rep * jnp.where(valid, jnp.maximum(1.0 - r, 0.0) ** 2, 0.0).sum(-1)
        return u, g, rep, rep - g

    def fields(self, positions: Float[Array, "N d"]) -> dict[str, Float[Array, "N"]]:
        """Per-particle ``U``, ``G``, ``R`` and ``E = R - G`` at each particle's position."""
        u, g, rep, e = self._fields(jnp.asarray(positions, jnp.float32), None)
        return {"U": u, "G": g, "R": rep, "E": e}

    def _energy(self, x: Float[Array, "N d"]) -> Float[Array, ""]:
        return self._fields(x, None)[3].sum()

    def energy(self, state: ParticleState) -> Float[Array, "*batch"]:
        """Total energy ``sum_i E(x_i)`` of a state (one value per batch element)."""
        batch = self.check_state(state)
        x = prepare_particle_state(state).positions
        return jax.vmap(self._energy)(x) if batch else self._energy(x)

    def motion_field(self, x: Float[Array, "N d"]) -> Float[Array, "N d"]:
        """``-grad E`` at every particle (local: the field of the others; total: the total
        energy)."""
        if self.motion == "total":
            return -jax.grad(self._energy)(x)
        # local: differentiate each particle's own field with the sources held fixed
        local = lambda y: self._fields(y, jax.lax.stop_gradient(y))[3].sum()  # noqa: E731
        return -jax.grad(local)(x)

    def step(self, state: ParticleState, input=None, *, key=None) -> ParticleState:
        v = self.motion_field(state.positions)
        x = state.positions + self.dt * v
        if self.box_size is not None:
            x = jnp.mod(x, self.box_size)
        return ParticleState(x, v, state.types)

    # ------------------------------------------------------------------ state
    def init_state(self, size: int | None = None, *, key: PRNGKeyArray | None = None) -> ParticleState:
        """``size`` particles (default 200, the paper's demo) uniform in a cube of side
        ``12 * (size / 200)^(1/d)`` centred on the origin (the paper: ``[-6, 6]^2``), or
        uniform in the periodic box; ``key=None`` uses ``PRNGKey(0)``."""
        n = check_size(size, "particle_lenia") or 200
        key = jax.random.PRNGKey(0) if key is None else key
        d = self.num_spatial_dims
        u = jax.random.uniform(key, (n, d), jnp.float32)
        if self.box_size is None:
            x = (u - 0.5) * (12.0 * (n / 200.0) ** (1.0 / d))
        else:
            x = u * self.box_size
        return ParticleState(x, jnp.zeros_like(x), jnp.zeros((n,), jnp.int32))
