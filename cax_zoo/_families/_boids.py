"""Boids (Reynolds 1987): flocking from separation, alignment and cohesion, with speed
limits, in a periodic box (the update of the Cornell ECE 4760 boids lab)."""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .._blocks._cell_list import NeighbourMethod, find_neighbours
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
from .._validation import check_choice, check_float, check_int


def order_parameter(velocities: Float[Array, "*batch N d"]) -> Float[Array, "*batch"]:
    """The polarisation ``|mean_i v_i / |v_i||``: 1 when all move alike, ~``1/sqrt(N)``
    for random headings."""
    v = jnp.asarray(velocities, jnp.float32)
    unit = v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return jnp.linalg.norm(unit.mean(-2), axis=-1)


class Neighbourhood(eqx.Module):
    """What a boid sees: for each boid ``i`` and candidate ``j`` (``(N, M)``), the offset
    ``dx = x_j - x_i`` (nearest periodic image), the candidate's velocity ``vj`` and whether
    ``j`` is a real neighbour (``valid``; padding and self excluded), with the squared
    distance ``r2``."""

    dx: Float[Array, "N M d"]
    vj: Float[Array, "N M d"]
    valid: Bool[Array, "N M"]
    r2: Float[Array, "N M"]


class AbstractBoidsPolicy(eqx.Module):
    """A boids policy: the velocity change of every boid from what it sees. Concrete
    policies are final; :class:`Boids` takes any of them."""

    @abc.abstractmethod
    def __call__(self, seen: Neighbourhood, velocities: Float[Array, "N d"], *,
                 key: PRNGKeyArray | None = None) -> Float[Array, "N d"]:
        """``(N, d)`` velocity changes; ``key`` drives any noise (``None``: none)."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-able settings (arrays, if any, are weights)."""


class ReynoldsRules(AbstractBoidsPolicy):
    """Reynolds' classic rules (the Cornell ECE 4760 boids lab's form): boids closer than
    ``protected_range`` push away (``avoid_factor * sum (x_i - x_j)``); those within
    ``visual_range`` pull towards their mean position (``centering_factor``) and mean
    velocity (``matching_factor``); plus, as in CAX's policy, uniform noise in
    ``[-noise, noise]`` per component when a key is given."""

    visual_range: float = eqx.field(static=True)
    protected_range: float = eqx.field(static=True)
    centering_factor: float = eqx.field(static=True)
    avoid_factor: float = eqx.field(static=True)
    matching_factor: float = eqx.field(static=True)
    noise: float = eqx.field(static=True)

    def __call__(self, seen, velocities, *, key=None):
        close = seen.valid & (seen.r2 < self.protected_range**2)
        near = seen.valid & ~close & (seen.r2 < self.visual_range**2)
        count = near.sum(1, keepdims=True).astype(velocities.dtype)
        has = count > 0
        safe = jnp.maximum(count, 1.0)
        mean_dx = jnp.where(near[..., None], seen.dx, 0.0).sum(1) / safe
        mean_v = jnp.where(near[..., None], seen.vj, 0.0).sum(1) / safe
        cohesion = jnp.where(has, mean_dx * self.centering_factor, 0.0)
        alignment = jnp.where(has, (mean_v - velocities) * self.matching_factor, 0.0)
        separation = -jnp.where(close[..., None], seen.dx, 0.0).sum(1) * self.avoid_factor
        out = cohesion + alignment + separation
        if key is not None and self.noise > 0:
            out = out + jax.random.uniform(key, out.shape, out.dtype, -self.noise, self.noise)
        return out

    def config(self) -> dict[str, Any]:
        return {"noise": self.noise}


class NeuralPolicy(AbstractBoidsPolicy):
    """A learned policy (CAX's notebook swaps the rules for a small network): every
    neighbour within ``visual_range`` gives features ``(dx / visual_range, dv / max_speed)``,
    a shared MLP (``2d -> hidden -> hidden -> d``, tanh) maps each to a vote, and the boid's
    velocity change is ``acceleration_scale`` times the mean vote. Parameters are arrays
    (trainable with ``eqx.filter_grad``)."""

    mlp: eqx.nn.MLP
    visual_range: float = eqx.field(static=True)
    max_speed: float = eqx.field(static=True)
    acceleration_scale: float = eqx.field(static=True)
    hidden: int = eqx.field(static=True)

    def __init__(self, *, num_spatial_dims: int, visual_range: float, max_speed: float,
                 hidden: int = 16, acceleration_scale: float = 1.0, key: PRNGKeyArray | None):
        """``key`` draws the parameters; ``key=None`` gives all-zero parameters (the
        skeleton that a weight file fills: it steers nothing)."""
        self.hidden = check_int("hidden", hidden, minimum=1, maximum=1024)
        self.visual_range, self.max_speed = float(visual_range), float(max_speed)
        self.acceleration_scale = check_float("acceleration_scale", acceleration_scale, minimum=0.0, maximum=1e6)
        d = num_spatial_dims
        mlp = eqx.nn.MLP(2 * d, d, self.hidden, 2, activation=jnp.tanh,
                         key=jax.random.PRNGKey(0) if key is None else key)
        if key is None:
            mlp = jax.tree_util.tree_map(lambda x: jnp.zeros_like(x) if eqx.is_array(x) else x, mlp)
        self.mlp = mlp

    def __call__(self, seen, velocities, *, key=None):
        near = seen.valid & (seen.r2 < self.visual_range**2)
        dv = seen.vj - velocities[:, None]
        feats = jnp.concatenate([seen.dx / self.visual_range, dv / self.max_speed], axis=-1)
        votes = jax.vmap(jax.vmap(self.mlp))(feats)
        count = jnp.maximum(near.sum(1, keepdims=True), 1).astype(velocities.dtype)
        return self.acceleration_scale * jnp.where(near[..., None], votes, 0.0).sum(1) / count

    def config(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "acceleration_scale": self.acceleration_scale}


POLICIES = ("reynolds", "neural")


@register(
    "boids",
    description="Reynolds' boids: separation, alignment, cohesion and speed limits in a periodic box",
    paper="Reynolds 1987, Flocks, herds and schools: a distributed behavioral model (SIGGRAPH)",
    tags=("particles", "2d", "flocking"),
)
class Boids(AbstractParticleSystem):
    """Reynolds' boids in a periodic box of side ``box_size``, in ``d`` dimensions.

    For boid ``i``, other boids closer than ``protected_range`` push it away
    (``v += avoid_factor * sum (x_i - x_j)``); those farther but within ``visual_range``
    pull it to their mean position (``v += centering_factor * (mean x_j - x_i)``) and mean
    velocity (``v += matching_factor * (mean v_j - v_i)``). The speed is then clamped to
    ``[min_speed, max_speed]`` and ``x += dt * v`` (wrapped). Defaults are those of the
    Cornell ECE 4760 boids lab (Hunter Adams). Types only colour the boids.

    The steering is pluggable: ``policy="reynolds"`` (default; :class:`ReynoldsRules` from
    the factors above, with ``noise``), ``"neural"`` (a :class:`NeuralPolicy` drawn from
    ``key``; without a key, zero parameters for a weight file to fill) or any
    :class:`AbstractBoidsPolicy` module.

    State: :class:`~cax_zoo.ParticleState`.
    """

    family = "boids"
    policy: AbstractBoidsPolicy

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
        policy: str | AbstractBoidsPolicy = "reynolds",
        noise: float = 0.0,
        hidden: int = 16,
        acceleration_scale: float = 1.0,
        key: PRNGKeyArray | None = None,
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
        if isinstance(policy, AbstractBoidsPolicy):
            self.policy = policy
        elif check_choice("policy", policy, POLICIES) == "reynolds":
            self.policy = ReynoldsRules(self.visual_range, self.protected_range, self.centering_factor,
                                        self.avoid_factor, self.matching_factor,
                                        check_float("noise", noise, minimum=0.0, maximum=1e6))
        else:
            self.policy = NeuralPolicy(num_spatial_dims=self.num_spatial_dims, visual_range=self.visual_range,
                                       max_speed=self.max_speed, hidden=hidden,
                                       acceleration_scale=acceleration_scale, key=key)

    def config(self) -> dict[str, Any]:
        return {
            "box_size": self.box_size, "visual_range": self.visual_range,
            "protected_range": self.protected_range, "centering_factor": self.centering_factor,
            "avoid_factor": self.avoid_factor, "matching_factor": self.matching_factor,
            "min_speed": self.min_speed, "max_speed": self.max_speed, "dt": self.dt,
            "num_types": self.num_types, "num_spatial_dims": self.num_spatial_dims,
            "neighbour_method": self.neighbour_method, "max_occupancy": self.max_occupancy,
            "policy": "neural" if isinstance(self.policy, NeuralPolicy) else "reynolds",
            **self.policy.config(),
        }

    def neighbourhood(self, positions: Float[Array, "N d"], velocities: Float[Array, "N d"]) -> Neighbourhood:
        """Every boid's candidates within ``visual_range`` (all pairs or a cell list)."""
        idx, dx, valid, _ = find_neighbours(
            positions, method=self.neighbour_method, box_size=self.box_size,
            cutoff=self.visual_range, max_occupancy=self.max_occupancy, name="boids",
        )
        vj = jnp.concatenate([velocities, jnp.zeros((1, velocities.shape[1]), velocities.dtype)])[idx]
        return Neighbourhood(dx, vj, valid, (dx * dx).sum(-1))

    def steering(self, positions: Float[Array, "N d"], velocities: Float[Array, "N d"], *,
                 key: PRNGKeyArray | None = None) -> Float[Array, "N d"]:
        """The velocity change the policy gives every boid."""
        return self.policy(self.neighbourhood(positions, velocities), velocities, key=key)

    def step(self, state: ParticleState, input=None, *, key=None) -> ParticleState:
        v = state.velocities + self.steering(state.positions, state.velocities, key=key)
        speed = jnp.linalg.norm(v, axis=-1, keepdims=True)
        target = jnp.clip(speed, self.min_speed, self.max_speed)
        v = jnp.where(speed > 0, v * (target / jnp.maximum(speed, 1e-12)), v)
        x = jnp.mod(state.positions + self.dt * v, self.box_size)
        return ParticleState(x, v, state.types)

    def order_parameter(self, state: ParticleState) -> Float[Array, "*batch"]:
        """Polarisation ``|mean unit velocity|`` of a state (see :func:`order_parameter`)."""
        self.check_state(state)
        return order_parameter(state.velocities)

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
