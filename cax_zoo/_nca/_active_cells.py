"""The NCA update of a batch of grids, with the MLP run only on the cells whose update can
reach the result.

Under :class:`~cax_zoo.nca.NCAUpdate` with a neighbourhood :class:`~cax_zoo.nca.AliveMask`,
a cell's new value is kept only if it is alive before the update (a mature cell within
one step of it) and after. A cell's MLP output therefore matters only if the cell fires
and lies within one step of a cell that is alive before the update: anything else is
either not applied or zeroed by the masks. On a growing image that is a small part of
the grid (the lizard at the Distill scale: about 11 % of the cells at fire rate 0.5), and
the MLP is almost all of an NCA step's arithmetic.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

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
    update = check_active_cells(model)
    capacity = check_float("capacity", capacity, minimum=0.0, maximum=1.0, open_minimum=True)
    f, alive = update.first_channel, update.alive
    spatial, channels = states.shape[1:-1], states.shape[-1] - update.first_channel
    features = jax.vmap(model.perceive)(states)
    pre = jax.vmap(alive)(states)  # (B, *spatial, 1)
    near = jax.vmap(lambda p: alive_mask(p.astype(jnp.float32), 0, 0.5, alive.boundary,
                                         num_spatial_dims=len(spatial)))(pre)
    if keys is None:
        fire, noise = None, None
    else:
        fire, noise = jax.vmap(lambda k: update_draws(k, spatial, channels, update.fire_rate, update.residual_noise,
                                                      states.dtype))(keys)
    need = near if fire is None else near & (fire > 0)
    total = math.prod(need.shape)
    limit = max(1, int(capacity * total))
    flat_need = need.reshape(total)

    def active_only(_):
        idx = jnp.nonzero(flat_need, size=limit, fill_value=total)[0]
        rows = features.reshape(total, features.shape[-1])[jnp.minimum(idx, total - 1)]
        out = jnp.zeros((total, channels), states.dtype).at[idx].set(update.mlp(rows), mode="drop")
        return out.reshape(states.shape[:-1] + (channels,))

    def every_cell(_):
        return update.mlp(features)

    delta = jax.lax.cond(jnp.sum(flat_need) <= limit, active_only, every_cell, None)
    if noise is not None:
        delta = delta + noise
    rest = states[..., f:] + (delta if fire is None else delta * fire)
    new = rest if f == 0 else jnp.concatenate([states[..., :f], rest], axis=-1)
    post = jax.vmap(alive)(new)
    kept = rest * (pre & post).astype(rest.dtype)
    return kept if f == 0 else jnp.concatenate([states[..., :f], kept], axis=-1)
