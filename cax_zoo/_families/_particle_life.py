"""Particle Life: typed particles with an asymmetric attraction matrix (Ventrella's
"Clusters", in Tom Mohr's 2022 formulation with a piecewise-linear force and friction)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
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
)
from .._registry import register
from .._validation import check_int


def life_force(r: Float[Array, "..."], a: Float[Array, "..."], beta: float) -> Float[Array, "..."]:
    """Mohr's force profile at distance ``r`` in units of ``r_max``: a linear
    universal repulsion ``r / beta - 1`` below ``beta``, then a triangular bump of height
    ``a`` (the attraction coefficient; negative repels) on ``[beta, 1]``, zero beyond."""
    near = r / beta - 1.0
    bump = a * (1.0 - jnp.abs(2.0 * r - 1.0 - beta) / (1.0 - beta))
    return jnp.where(r < beta, near, jnp.where(r < 1.0, bump, 0.0))


@register(
    "particle_life",
    description="Particle Life: typed particles with an asymmetric attraction matrix and friction",
    paper="Ventrella, Clusters (2017); Mohr 2022, Particle Life (force profile and friction)",
    tags=("particles", "2d"),
)
class ParticleLife(AbstractParticleSystem):
    """Particle Life with ``num_types`` species in a periodic box.

    Particle ``i`` feels from each ``j`` within ``r_max`` the force
    ``life_force(r / r_max, attraction[type_i, type_j]) * (x_j - x_i) / r``; the sum is
    scaled by ``r_max * force_factor``. Velocities decay by ``0.5^(dt / friction_half_life)``
    per step, then ``v += dt * F`` and ``x += dt * v`` (wrapped into the box).

    ``attraction`` ``(num_types, num_types)`` is an array field (saved in the weights):
    pass one, or get a uniform ``[-1, 1]`` matrix drawn from ``PRNGKey(seed)``.
    Defaults follow Mohr (unit box, ``r_max=0.1``, ``beta=0.3``, ``dt=0.02``).
    State: :class:`~cax_zoo.ParticleState`.
    """

    family = "particle_life"
    attraction: Float[Array, "T T"]
    num_types: int = eqx.field(static=True)
    seed: int = eqx.field(static=True)
    r_max: float = eqx.field(static=True)
    beta: float = eqx.field(static=True)
    force_factor: float = eqx.field(static=True)
    friction_half_life: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    box_size: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    neighbour_method: str = eqx.field(static=True)
    max_occupancy: int = eqx.field(static=True)
    num_particles: int = eqx.field(static=True)

    def __init__(
        self,
        *,
        num_types: int = 6,
        seed: int = 0,
        attraction: Any = None,
        r_max: float = 0.1,
        beta: float = 0.3,
        force_factor: float = 10.0,
        friction_half_life: float = 0.04,
        dt: float = 0.02,
        box_size: float = 1.0,
        num_spatial_dims: int = 2,
        neighbour_method: NeighbourMethod = "auto",
        max_occupancy: int = 256,
        num_particles: int = 1000,
        key: PRNGKeyArray | None = None,
    ):
        name = "particle_life"
        self.num_particles = check_int("num_particles", num_particles, minimum=1, maximum=1 << 20)
        if isinstance(num_types, bool) or not isinstance(num_types, int) or num_types < 1:
            raise ConfigError(f"{name}: num_types must be a positive integer, got {num_types!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"{name}: seed must be an integer, got {seed!r}")
        self.num_types, self.seed = num_types, seed
        self.r_max = check_positive(r_max, "r_max", name)
        self.beta = check_positive(beta, "beta", name)
        if not self.beta < 1.0:
            raise ConfigError(f"{name}: beta must lie in (0, 1), got {beta!r}")
        self.force_factor = check_positive(force_factor, "force_factor", name, allow_zero=True)
        self.friction_half_life = check_positive(friction_half_life, "friction_half_life", name)
        self.dt = check_positive(dt, "dt", name)
        self.box_size = check_box(box_size, name, allow_none=False)
        if self.r_max > self.box_size / 2:
            raise ConfigError(f"{name}: r_max={r_max} must be at most half of box_size={box_size}")
        self.num_spatial_dims = check_dims(num_spatial_dims, name)
        self.neighbour_method, self.max_occupancy = check_cell_options(neighbour_method, max_occupancy, name)
        if attraction is None:
            k = jax.random.PRNGKey(seed) if key is None else key
            attraction = jax.random.uniform(k, (num_types, num_types), jnp.float32, -1.0, 1.0)
        try:
            a = np.asarray(attraction, np.float32) if not isinstance(attraction, jax.Array) else attraction
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: attraction must be a numeric matrix, got {attraction!r}") from None
        if a.shape != (num_types, num_types):
            raise ConfigError(
                f"{name}: attraction must have shape ({num_types}, {num_types}), got {tuple(a.shape)}"
            )
        self.attraction = jnp.asarray(a, jnp.float32)

    def config(self) -> dict[str, Any]:
        return {
            "num_types": self.num_types, "seed": self.seed, "r_max": self.r_max, "beta": self.beta,
            "force_factor": self.force_factor, "friction_half_life": self.friction_half_life,
            "dt": self.dt, "box_size": self.box_size, "num_spatial_dims": self.num_spatial_dims,
            "neighbour_method": self.neighbour_method, "max_occupancy": self.max_occupancy,
            "num_particles": self.num_particles,
        }

    def forces(self, positions: Float[Array, "N d"], types) -> Float[Array, "N d"]:
        """The total force on every particle (before the ``dt`` and friction update)."""
        idx, dx, valid, _ = find_neighbours(
            positions, method=self.neighbour_method, box_size=self.box_size, cutoff=self.r_max,
            max_occupancy=self.max_occupancy, name="particle_life",
        )
        r = safe_norm(dx)
        other = jnp.concatenate([types, jnp.zeros((1,), types.dtype)])[idx]  # index N = padding
        a = self.attraction[types[:, None], other]
        f = life_force(r / self.r_max, a, self.beta)
        f = jnp.where(valid & (r < self.r_max), f, 0.0)
        return (f[..., None] * dx / r[..., None]).sum(1) * (self.r_max * self.force_factor)

    def step(self, state: ParticleState, input=None, *, key=None) -> ParticleState:
        f = self.forces(state.positions, state.types)
        friction = 0.5 ** (self.dt / self.friction_half_life)
        v = state.velocities * friction + f * self.dt
        x = jnp.mod(state.positions + v * self.dt, self.box_size)
        return ParticleState(x, v, state.types)

    def init_state(self, size: int | None = None, *, key: PRNGKeyArray | None = None) -> ParticleState:
        """``size`` particles (default ``num_particles``) uniform in the box, at rest, with
        uniformly random types; ``key=None`` uses ``PRNGKey(0)``."""
        n = check_size(size, "particle_life") or self.num_particles
        key = jax.random.PRNGKey(0) if key is None else key
        kx, kt = jax.random.split(key)
        x = jax.random.uniform(kx, (n, self.num_spatial_dims), jnp.float32, 0.0, self.box_size)
        t = jax.random.randint(kt, (n,), 0, self.num_types, jnp.int32)
        return ParticleState(x, jnp.zeros_like(x), t)




CAX_R_MAX = 0.15


@register(
    "particle_life/cax",
    description="Particle Life with the settings of CAX's notebook: 4096 particles, 6 types, dt 0.01, "
    "friction half-life 0.01, r_max 0.15, beta 0.3, force 1",
    paper="Faldor & Cully 2025, CAX (examples/30_particle_life.ipynb); Mohr 2022, Particle Life",
    tags=("particles", "2d", "cax"),
)
def particle_life_cax(**overrides: Any) -> ParticleLife:
    """CAX's Particle Life settings. CAX scales the summed force by ``force_factor`` alone
    where Mohr (and :class:`ParticleLife`) scale it by ``r_max * force_factor``, so CAX's
    force 1 is ``force_factor = 1 / r_max`` here. All pairs, as CAX computes them: with
    ``r_max = 0.15`` the box has only 6x6 cells and clusters overfill them."""
    config = dict(num_types=6, dt=0.01, friction_half_life=0.01, r_max=CAX_R_MAX, beta=0.3,
                  force_factor=1.0 / CAX_R_MAX, num_particles=4096, neighbour_method="all_pairs")
    config.update(overrides)
    return ParticleLife(**config)
