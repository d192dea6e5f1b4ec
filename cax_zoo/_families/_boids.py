"""Boids (Reynolds 1987): flocking from separation, alignment and cohesion, with speed
limits, in a periodic box (the update of the Cornell ECE 4760 boids lab)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._automaton import AbstractAutomaton
from .._blocks._cell_list import NeighbourMethod, find_neighbours
from .._errors import ConfigError, StateError
from .._particles import (
    ParticleState,
    check_box,
    check_cell_options,
    check_dims,
    check_particle_state,
    check_positive,
    check_size,
    prepare_particle_state,
    render_particles,
    render_space_time,
)
from .._registry import register


def order_parameter(velocities: Float[Array, "*batch N d"]) -> Float[Array, "*batch"]:
    """The polarisation ``|mean_i v_i / |v_i||``: 1 when all move alike, ~``1/sqrt(N)``
    for random headings."""
    v = jnp.asarray(velocities, jnp.float32)
    unit = v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return jnp.linalg.norm(unit.mean(-2), axis=-1)


@register(
    "boids",
    description="Reynolds' boids: separation, alignment, cohesion and speed limits in a periodic box",
    paper="Reynolds 1987, Flocks, herds and schools: a distributed behavioral model (SIGGRAPH)",
    tags=("particles", "2d", "flocking"),
)
class Boids(AbstractAutomaton):
    """Reynolds' boids in a periodic box of side ``box_size``, in ``d`` dimensions.

    For boid ``i``, other boids closer than ``protected_range`` push it away
    (``v += avoid_factor * sum (x_i - x_j)``); those farther but within ``visual_range``
    pull it to their mean position (``v += centering_factor * (mean x_j - x_i)``) and mean
    velocity (``v += matching_factor * (mean v_j - v_i)``). The speed is then clamped to
    ``[min_speed, max_speed]`` and ``x += dt * v`` (wrapped). Defaults are those of the
    Cornell ECE 4760 boids lab (Hunter Adams). Types only colour the boids.

    State: :class:`~cax_zoo.ParticleState`.
    """

    box_size: float = eqx.field(static=True)
    visual_range: float = eqx.field(static=True)
    protected_range: float = eqx.field(static=True)
    centering_factor: float = eqx.field(static=True)
    avoid_factor: float = eqx.field(static=True)
    matching_factor: float = eqx.field(static=True)
    min_speed: float = eqx.field(static=True)
    max_speed: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    num_types: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    neighbour_method: str = eqx.field(static=True)
    max_occupancy: int = eqx.field(static=True)

    def __init__(
        self,
        *,
        box_size: float = 400.0,
        visual_range: float = 40.0,
        protected_range: float = 8.0,
        centering_factor: float = 0.0005,
        avoid_factor: float = 0.05,
        matching_factor: float = 0.05,
        min_speed: float = 3.0,
        max_speed: float = 6.0,
        dt: float = 1.0,
        num_types: int = 1,
        num_spatial_dims: int = 2,
        neighbour_method: NeighbourMethod = "auto",
        max_occupancy: int = 64,
    ):
        name = "boids"
        self.box_size = check_box(box_size, name, allow_none=False)
        self.visual_range = check_positive(visual_range, "visual_range", name)
        self.protected_range = check_positive(protected_range, "protected_range", name, allow_zero=True)
        if self.protected_range > self.visual_range:
            raise ConfigError(f"{name}: protected_range must not exceed visual_range")
        if self.visual_range > self.box_size / 2:
            raise ConfigError(f"{name}: visual_range must be at most half of box_size")
        self.centering_factor = check_positive(centering_factor, "centering_factor", name, allow_zero=True)
        self.avoid_factor = check_positive(avoid_factor, "avoid_factor", name, allow_zero=True)
        self.matching_factor = check_positive(matching_factor, "matching_factor", name, allow_zero=True)
        self.min_speed = check_positive(min_speed, "min_speed", name, allow_zero=True)
        self.max_speed = check_positive(max_speed, "max_speed", name)
        if self.min_speed > self.max_speed:
            raise ConfigError(f"{name}: min_speed={min_speed} exceeds max_speed={max_speed}")
        self.dt = check_positive(dt, "dt", name)
        if isinstance(num_types, bool) or not isinstance(num_types, int) or num_types < 1:
            raise ConfigError(f"{name}: num_types must be a positive integer, got {num_types!r}")
        self.num_types = num_types
        self.num_spatial_dims = check_dims(num_spatial_dims, name)
        self.neighbour_method, self.max_occupancy = check_cell_options(neighbour_method, max_occupancy, name)

    def config(self) -> dict[str, Any]:
        return {
            "box_size": self.box_size, "visual_range": self.visual_range,
            "protected_range": self.protected_range, "centering_factor": self.centering_factor,
            "avoid_factor": self.avoid_factor, "matching_factor": self.matching_factor,
            "min_speed": self.min_speed, "max_speed": self.max_speed, "dt": self.dt,
            "num_types": self.num_types, "num_spatial_dims": self.num_spatial_dims,
            "neighbour_method": self.neighbour_method, "max_occupancy": self.max_occupancy,
        }

    def steering(self, positions: Float[Array, "N d"], velocities: Float[Array, "N d"]) -> Float[Array, "N d"]:
        """The velocity change from separation, cohesion and alignment."""
        idx, dx, valid, _ = find_neighbours(
            positions, method=self.neighbour_method, box_size=self.box_size,
            cutoff=self.visual_range, max_occupancy=self.max_occupancy, name="boids",
        )
        r2 = (dx * dx).sum(-1)
        close = valid & (r2 < self.protected_range**2)
        seen = valid & ~close & (r2 < self.visual_range**2)
        vj = jnp.concatenate([velocities, jnp.zeros((1, velocities.shape[1]), velocities.dtype)])[idx]
        count = seen.sum(1, keepdims=True).astype(positions.dtype)
        has = count > 0
        safe = jnp.maximum(count, 1.0)
        mean_dx = jnp.where(seen[..., None], dx, 0.0).sum(1) / safe
        mean_v = jnp.where(seen[..., None], vj, 0.0).sum(1) / safe
        cohesion = jnp.where(has, mean_dx * self.centering_factor, 0.0)
        alignment = jnp.where(has, (mean_v - velocities) * self.matching_factor, 0.0)
        separation = -jnp.where(close[..., None], dx, 0.0).sum(1) * self.avoid_factor
        return cohesion + alignment + separation

    def step(self, state: ParticleState, input=None, *, key=None) -> ParticleState:
        v = state.velocities + self.steering(state.positions, state.velocities)
        speed = jnp.linalg.norm(v, axis=-1, keepdims=True)
        target = jnp.clip(speed, self.min_speed, self.max_speed)
        v = jnp.where(speed > 0, v * (target / jnp.maximum(speed, 1e-12)), v)
        x = jnp.mod(state.positions + self.dt * v, self.box_size)
        return ParticleState(x, v, state.types)

    def order_parameter(self, state: ParticleState) -> Float[Array, "*batch"]:
        """Polarisation ``|mean unit velocity|`` of a state (see :func:`order_parameter`)."""
        self.check_state(state)
        return order_parameter(state.velocities)

    def check_state(self, state) -> int:
        return check_particle_state(
            state, name="boids", num_spatial_dims=self.num_spatial_dims, num_types=self.num_types
        )

    def prepare_state(self, state):
        return prepare_particle_state(state)

    def init_state(self, size: int | None = None, *, key: PRNGKeyArray | None = None) -> ParticleState:
        """``size`` boids (default 200) uniform in the box with uniformly random headings
        and speeds in ``[min_speed, max_speed]``, types uniform in ``[0, num_types)``;
        ``key=None`` uses ``PRNGKey(0)``."""
        n = check_size(size, "boids") or 200
        key = jax.random.PRNGKey(0) if key is None else key
        kx, kv, ks, kt = jax.random.split(key, 4)
        d = self.num_spatial_dims
        x = jax.random.uniform(kx, (n, d), jnp.float32, 0.0, self.box_size)
        heading = jax.random.normal(kv, (n, d), jnp.float32)
        heading = heading / jnp.maximum(jnp.linalg.norm(heading, axis=-1, keepdims=True), 1e-12)
        speed = jax.random.uniform(ks, (n, 1), jnp.float32, self.min_speed, self.max_speed)
        t = jax.random.randint(kt, (n,), 0, self.num_types, jnp.int32)
        return ParticleState(x, heading * speed, t)

    def render(self, state: ParticleState, *, size: int = 256) -> np.ndarray:
        if self.check_state(state) != 0:
            raise StateError("boids.render takes one unbatched state")
        return render_particles(state, box_size=self.box_size, size=size)

    def render_trajectory(self, trajectory: ParticleState) -> list[np.ndarray]:
        """Frames of a trajectory; in 1-D, one space-time diagram (a row per sample)."""
        if self.num_spatial_dims == 1:
            return [render_space_time(trajectory, box_size=self.box_size)]
        return AbstractAutomaton.render_trajectory(self, trajectory)
