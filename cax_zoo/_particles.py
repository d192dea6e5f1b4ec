"""The state of particle systems, its validation and its rasterisation.

Particle families (Particle Lenia, Particle Life, boids) subclass
:class:`AbstractParticleSystem`, which validates, prepares and renders their states.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._automaton import AbstractAutomaton
from ._blocks._cell_list import check_neighbour_method
from ._errors import ConfigError, StateError
from ._grid import PALETTE


class ParticleState(eqx.Module):
    """``N`` particles in ``d`` dimensions (optionally with a leading batch axis).

    - ``positions``: ``(N, d)`` float32
    - ``velocities``: ``(N, d)`` float32 (first-order systems store their last motion)
    - ``types``: ``(N,)`` int32, each in ``[0, num_types)``
    """

    positions: Float[Array, "*batch N d"]
    velocities: Float[Array, "*batch N d"]
    types: Int[Array, "*batch N"]


def _shape_dtype(x: Any, what: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise StateError(f"{name}: state.{what} must be an array, got {type(x).__name__}")
    return tuple(x.shape), np.dtype(x.dtype)


def check_particle_state(state: Any, *, name: str, num_spatial_dims: int, num_types: int) -> int:
    """Validate a :class:`ParticleState` (shapes, dtypes, type range when concrete) and
    return its number of batch axes (0 or 1)."""
    if not isinstance(state, ParticleState):
        raise StateError(
            f"{name} expects a cax_zoo.ParticleState(positions, velocities, types), got "
            f"{type(state).__name__}"
        )
    d = num_spatial_dims
    pshape, pdt = _shape_dtype(state.positions, "positions", name)
    vshape, vdt = _shape_dtype(state.velocities, "velocities", name)
    tshape, tdt = _shape_dtype(state.types, "types", name)
    if len(pshape) not in (2, 3) or pshape[-1] != d:
        raise StateError(
            f"{name} expects positions of shape (N, {d}) or (batch, N, {d}), got {pshape}"
        )
    if pshape[-2] == 0:
        raise StateError(f"{name} got a state with no particles (positions shape {pshape})")
    if vshape != pshape:
        raise StateError(f"{name}: velocities shape {vshape} differs from positions shape {pshape}")
    if tshape != pshape[:-1]:
        raise StateError(f"{name}: types shape {tshape} should be {pshape[:-1]} (one per particle)")
    if pdt.kind not in "fiu" or vdt.kind not in "fiu":
        raise StateError(
            f"{name} expects real-valued positions and velocities, got {pdt.name}, {vdt.name}"
        )
    if tdt.kind not in "iub":
        raise StateError(f"{name} expects integer particle types, got dtype {tdt.name}")
    if not isinstance(state.types, jax.core.Tracer):
        t = np.asarray(state.types)
        if t.size and (t.min() < 0 or t.max() >= num_types):
            raise StateError(
                f"{name} has {num_types} particle type(s); types must lie in [0, {num_types - 1}], "
                f"got values in [{t.min()}, {t.max()}]"
            )
    return len(pshape) - 2


def prepare_particle_state(state: ParticleState) -> ParticleState:
    """Cast to the canonical dtypes (float32 positions and velocities, int32 types)."""
    return ParticleState(
        jnp.asarray(state.positions, jnp.float32),
        jnp.asarray(state.velocities, jnp.float32),
        jnp.asarray(state.types, jnp.int32),
    )


def check_size(size: Any, name: str) -> int | None:
    """``init_state``'s ``size`` for particle systems is the number of particles."""
    if size is None:
        return None
    if isinstance(size, tuple) and len(size) == 1:
        size = size[0]
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise StateError(f"{name}: size is the number of particles (a positive int), got {size!r}")
    return int(size)


def check_box(box_size: Any, name: str, *, allow_none: bool) -> float | None:
    if box_size is None:
        if allow_none:
            return None
        raise ConfigError(f"{name} needs a positive box_size (it lives in a periodic box)")
    if isinstance(box_size, bool) or not isinstance(box_size, (int, float)) or not box_size > 0:
        raise ConfigError(f"{name}: box_size must be a positive number or None, got {box_size!r}")
    return float(box_size)


def check_positive(value: Any, what: str, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name}: {what} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name}: {what} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def check_dims(num_spatial_dims: Any, name: str) -> int:
    if isinstance(num_spatial_dims, bool) or not isinstance(num_spatial_dims, int) or num_spatial_dims < 1:
        raise ConfigError(f"{name}: num_spatial_dims must be a positive integer, got {num_spatial_dims!r}")
    return num_spatial_dims


def check_cell_options(
    neighbour_method: str, max_occupancy: Any, name: str
) -> tuple[str, int]:
    check_neighbour_method(neighbour_method)
    if isinstance(max_occupancy, bool) or not isinstance(max_occupancy, int) or max_occupancy < 1:
        raise ConfigError(f"{name}: max_occupancy must be a positive integer, got {max_occupancy!r}")
    return neighbour_method, max_occupancy


def particle_colours(types: np.ndarray) -> np.ndarray:
    """Type 0 white, then the distinct hues of the grid palette (cycled)."""
    table = PALETTE[1:]
    return table[np.mod(types.astype(np.int64), len(table))]


def render_particles(
    state: ParticleState,
    *,
    box_size: float | None,
    size: int = 256,
    radius: int = 1,
) -> np.ndarray:
    """Draw one unbatched state into a ``(size, size, 3)`` uint8 image: particles as small
    discs coloured by type on black. A periodic box maps onto the whole image; in open
    space the view fits the particles (with a margin). 3-D and higher are projected on
    the first two axes; 1-D systems are drawn along the middle row."""
    pos = np.asarray(jax.device_get(state.positions), np.float64)
    types = np.asarray(jax.device_get(state.types))
    if pos.ndim != 2:
        raise StateError(f"render takes one unbatched state, got positions of shape {pos.shape}")
    if pos.shape[1] == 1:
        pos = np.concatenate([pos, np.zeros_like(pos)], axis=1)
    pos = pos[:, :2]
    if box_size is not None:
        lo = np.zeros(2)
        span = float(box_size)
        pos = np.mod(pos, box_size)
        if state.positions.shape[-1] == 1:
            pos[:, 1] = box_size / 2
    else:
        finite = np.isfinite(pos).all(1)
        p = pos[finite] if finite.any() else np.zeros((1, 2))
        lo_, hi_ = p.min(0), p.max(0)
        centre = (lo_ + hi_) / 2
        span = float(max((hi_ - lo_).max(), 1e-6)) * 1.1 + 2.0
        lo = centre - span / 2
    px = np.floor((pos - lo) / span * size).astype(np.int64)
    img = np.zeros((size, size, 3), np.uint8)
    colours = particle_colours(types)
    ok = ((px >= 0) & (px < size)).all(1)
    px, colours = px[ok], colours[ok]
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius:
                continue
            # row = second coordinate (flipped so +y is up), column = first coordinate
            r = np.clip(size - 1 - px[:, 1] + dy, 0, size - 1)
            c = np.clip(px[:, 0] + dx, 0, size - 1)
            img[r, c] = colours
    return img


def render_space_time(trajectory: ParticleState, *, box_size: float | None, size: int = 256) -> np.ndarray:
    """A 1-D trajectory (leading time axis) as one space-time diagram: row ``t`` shows the
    particles' positions at sample ``t`` (coloured by type)."""
    pos = np.asarray(jax.device_get(trajectory.positions), np.float64)[..., 0]  # (T, N)
    types = np.asarray(jax.device_get(trajectory.types))
    if box_size is not None:
        lo, span = 0.0, float(box_size)
        pos = np.mod(pos, box_size)
    else:
        finite = pos[np.isfinite(pos)]
        a, b = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        span = float(max(b - a, 1e-6)) * 1.1 + 2.0
        lo = (a + b) / 2 - span / 2
    t = pos.shape[0]
    img = np.zeros((t, size, 3), np.uint8)
    col = np.floor((pos - lo) / span * size).astype(np.int64)
    ok = (col >= 0) & (col < size)
    rows = np.broadcast_to(np.arange(t)[:, None], col.shape)
    img[rows[ok], col[ok]] = particle_colours(types[ok])
    return img


class AbstractParticleSystem(AbstractAutomaton):
    """A particle family: state a :class:`ParticleState` of ``N`` particles in
    ``num_spatial_dims`` dimensions, in a periodic box of side ``box_size`` (``None``: open
    space), with types in ``[0, num_types)``.

    Subclasses provide the fields below and :meth:`step`, :meth:`config` and
    :meth:`init_state`; validation, preparation and rendering (particles as coloured discs;
    1-D trajectories as one space-time diagram) are shared and final.
    """

    family: eqx.AbstractClassVar[str]
    box_size: eqx.AbstractVar[float | None]
    num_spatial_dims: eqx.AbstractVar[int]
    num_types: eqx.AbstractVar[int]

    def check_state(self, state) -> int:
        return check_particle_state(state, name=self.family, num_spatial_dims=self.num_spatial_dims,
                                    num_types=self.num_types)

    def prepare_state(self, state):
        return prepare_particle_state(state)

    def render(self, state: ParticleState, *, size: int = 256) -> np.ndarray:
        """One unbatched state as a ``(size, size, 3)`` image."""
        if self.check_state(state) != 0:
            raise StateError(f"{self.family}.render takes one unbatched state")
        return render_particles(state, box_size=self.box_size, size=size)

    def render_trajectory(self, trajectory: ParticleState) -> list[np.ndarray]:
        """Frames of a trajectory; in 1-D, one space-time diagram (a row per sample)."""
        if self.num_spatial_dims == 1:
            return [render_space_time(trajectory, box_size=self.box_size)]
        return AbstractAutomaton.render_trajectory(self, trajectory)
