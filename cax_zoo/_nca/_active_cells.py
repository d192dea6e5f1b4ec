"""The NCA update of a batch of grids, with the MLP run only on the cells whose update can
reach the result.

Under :class:`~cax_zoo.nca.NCAUpdate` with a neighbourhood :class:`~cax_zoo.nca.AliveMask`,
a cell's new value is kept only if it is alive before the update (a mature cell within
one step of it) and after. A cell's MLP output therefore matters only if the cell fires
and lies within one step of a cell that is alive before the update: anything else is
either not applied or zeroed by the masks. On a growing image that is a small part of
the grid (the lizard at the Distill scale: about 11 % of the cells at fire rate 0.5), and
the MLP is almost all of an NCA step's arithmetic.

A step is split in two: :func:`prepare` (the masks and random draws, cheap, no
parameters) and :func:`finish` (perception, MLP and update), so that a caller can choose
between the active-cell and the every-cell :func:`finish` with one ``lax.switch`` (a
rollout that also skips steps does so in the same switch: nested conditionals cost more
to differentiate than the work they skip).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .._blocks._nca import alive_mask, update_draws
from .._errors import ConfigError
from .._validation import check_float
from ._update import AliveMask, NCAUpdate


def check_active_cells(model) -> NCAUpdate:
    """``model.update``, checked to be an :class:`NCAUpdate` with a neighbourhood alive mask
    (the update whose masks make most cells' MLP output unused)."""
    update = getattr(model, "update", None)
    if not isinstance(update, NCAUpdate) or not isinstance(update.alive, AliveMask) or not update.alive.neighbourhood:
        raise ConfigError(f"active-cell updates need an NCA whose update is an NCAUpdate with a neighbourhood "
                          f"AliveMask; {type(model).__name__} has {type(update).__name__}")
    return update


def capacity_cells(capacity: float, states: Array) -> int:
    """The number of cells ``capacity`` (a fraction in (0, 1]) allows in the batch ``states``."""
    capacity = check_float("capacity", capacity, minimum=0.0, maximum=1.0, open_minimum=True)
    return max(1, int(capacity * math.prod(states.shape[:-1])))


class StepDraws(eqx.Module):
    """What one step of a batch needs before any parameter is used: the alive mask before
    the update ``pre`` ``(B, *spatial, 1)``, the fire mask and residual noise of
    :func:`~cax_zoo.nca.update_draws` (None when the rule has none), and ``need``
    ``(B, *spatial)``: the cells whose MLP output can reach the result."""

    pre: Bool[Array, "B *spatial 1"]
    fire: Float[Array, "B *spatial 1"] | None
    noise: Float[Array, "B *spatial C"] | None
    need: Bool[Array, "B *spatial"]

    def count(self) -> Int[Array, ""]:
        """How many cells need the MLP."""
        return jnp.sum(self.need)


def prepare(model, states: Float[Array, "B *spatial C"], keys: PRNGKeyArray | None) -> StepDraws:
    """The masks and draws of one step of ``model`` on ``states`` with ``keys`` ``(B,)``
    (None: every cell fires), drawn as the dense step draws them."""
    update = check_active_cells(model)
    alive = update.alive
    spatial, channels = states.shape[1:-1], states.shape[-1] - update.first_channel
    pre = jax.vmap(alive)(states)
    near = jax.vmap(lambda p: alive_mask(p.astype(jnp.float32), 0, 0.5, alive.boundary,
                                         num_spatial_dims=len(spatial)))(pre)[..., 0]
    if keys is None:
        return StepDraws(pre, None, None, near)
    fire, noise = jax.vmap(lambda k: update_draws(k, spatial, channels, update.fire_rate, update.residual_noise,
                                                  states.dtype))(keys)
    return StepDraws(pre, fire, noise, near if fire is None else near & (fire[..., 0] > 0))


def finish(model, states: Float[Array, "B *spatial C"], draws: StepDraws,
           limit: int | None) -> Float[Array, "B *spatial C"]:
    """The step that :func:`prepare` began: the MLP on the first ``limit`` cells of
    ``draws.need`` (exact when no more need it; see :meth:`StepDraws.count`), or with
    ``limit=None`` on every cell."""
    update = model.update
    f = update.first_channel
    channels = states.shape[-1] - f
    features = jax.vmap(model.perceive)(states)
    if limit is None:
        delta = update.mlp(features)
    else:
        total = math.prod(draws.need.shape)
        idx = jnp.nonzero(draws.need.reshape(total), size=limit, fill_value=total)[0]
        rows = features.reshape(total, features.shape[-1])[jnp.minimum(idx, total - 1)]
        delta = jnp.zeros((total, channels), states.dtype).at[idx].set(update.mlp(rows), mode="drop")
        delta = delta.reshape(states.shape[:-1] + (channels,))
    if draws.noise is not None:
        delta = delta + draws.noise
    rest = states[..., f:] + (delta if draws.fire is None else delta * draws.fire)
    new = rest if f == 0 else jnp.concatenate([states[..., :f], rest], axis=-1)
    post = jax.vmap(update.alive)(new)
    kept = rest * (draws.pre & post).astype(rest.dtype)
    return kept if f == 0 else jnp.concatenate([states[..., :f], kept], axis=-1)


def active_cell_steps(model, states: Float[Array, "B *spatial C"], keys: PRNGKeyArray | None, *,
                      capacity: float) -> Float[Array, "B *spatial C"]:
    """One step of ``model`` on every grid of ``states``, equal to
    ``vmap(model.step)(states, key=keys)`` (``keys`` ``(B,)``, or None: every cell fires),
    with the MLP run on at most ``capacity`` (a fraction of the batch's cells, in (0, 1])
    cells: those that fire within one step of a cell alive before the update. When more
    cells than that need it, the step runs the MLP on every cell (same result, dense cost).

    The draws are the dense step's (:func:`~cax_zoo.nca.update_draws` with each grid's
    key), so the results agree to float rounding (bit for bit on the growing NCA without
    residual noise, on this project's CPU)."""
    limit = capacity_cells(capacity, states)
    draws = prepare(model, states, keys)
    return jax.lax.cond(draws.count() <= limit, lambda s, d: finish(model, s, d, limit),
                        lambda s, d: finish(model, s, d, None), states, draws)
