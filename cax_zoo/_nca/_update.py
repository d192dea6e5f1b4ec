"""Updates: how a cell's state changes given its features (and an optional input).

An update module maps ``(state, features, input)`` of one unbatched grid to the next state.
The MLP is :class:`~cax_zoo.nca.CellMLP` (a stack of 1x1 convolutions, last layer zero).
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .._blocks._nca import CellMLP, alive_mask, stochastic_update
from .._boundary import Boundary, check_boundary
from .._errors import ConfigError, StateError
from .._validation import MAX_CHANNELS, check_bool, check_float, check_int


def with_input(features: Float[Array, "*spatial F"], input: Any) -> Float[Array, "*spatial G"]:
    """``features`` with a per-step ``input`` appended to every cell's feature vector:
    an input ``(I,)`` is broadcast over the grid (a label, a latent), one of shape
    ``(*spatial, I)`` is taken per cell (a mask, a target image); ``None`` adds nothing."""
    if input is None:
        return features
    x = jnp.asarray(input, features.dtype)
    if x.ndim == 1:
        x = jnp.broadcast_to(x, features.shape[:-1] + x.shape)
    elif x.shape[:-1] != features.shape[:-1]:
        raise StateError(f"an NCA input must have shape (I,) or (*spatial, I) with spatial {features.shape[:-1]}, "
                         f"got {x.shape}")
    return jnp.concatenate([features, x], axis=-1)


class AliveMask(eqx.Module):
    """Which cells are alive: ``state[..., channel] > threshold``, either of the cell
    itself or (``neighbourhood=True``, Mordvintsev et al.) of any cell in its 3^d Moore
    neighbourhood. No parameters."""

    channel: int = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    neighbourhood: bool = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)

    def __init__(self, channel: int, threshold: float = 0.1, *, neighbourhood: bool = True,
                 boundary: Boundary = "zero"):
        self.channel = check_int("alive channel", channel, minimum=0, maximum=MAX_CHANNELS)
        self.threshold = check_float("alive_threshold", threshold)
        self.neighbourhood = check_bool("neighbourhood", neighbourhood)
        self.boundary = check_boundary(boundary)

    def __call__(self, state: Float[Array, "*spatial C"]) -> Bool[Array, "*spatial 1"]:
        if self.neighbourhood:
            return alive_mask(state, self.channel, self.threshold, self.boundary,
                              num_spatial_dims=state.ndim - 1)
        return state[..., self.channel : self.channel + 1] > self.threshold


class AbstractUpdate(eqx.Module):
    """Maps ``(state, features, input)`` of one unbatched grid to its next state.

    ``key`` drives stochastic updates; ``key=None`` is the deterministic update (for the
    NCA update: every cell fires). Subclasses implement :meth:`__call__`.
    """

    @abc.abstractmethod
    def __call__(self, state: Float[Array, "*spatial C"], features: Float[Array, "*spatial F"],
                 input: Any = None, *, key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """The next state."""


def _check_first(first_channel: Any, mlp: CellMLP) -> int:
    if not isinstance(mlp, CellMLP):
        raise ConfigError(f"an update needs a CellMLP, got {type(mlp).__name__}")
    return check_int("first_channel", first_channel, minimum=0, maximum=MAX_CHANNELS)


def _splice(state, first: int, rest):
    """``state`` with channels ``first:`` replaced by ``rest``."""
    if first == 0:
        return rest
    return jnp.concatenate([state[..., :first], rest], axis=-1)


class MLPUpdate(AbstractUpdate):
    """The per-cell MLP's output *is* the new value of channels ``first_channel:``
    (channels before it are fixed inputs)."""

    mlp: CellMLP
    first_channel: int = eqx.field(static=True)

    def __init__(self, mlp: CellMLP, *, first_channel: int = 0):
        self.first_channel = _check_first(first_channel, mlp)
        self.mlp = mlp

    def __call__(self, state, features, input=None, *, key=None):
        return _splice(state, self.first_channel, self.mlp(with_input(features, input)).astype(state.dtype))


class ResidualUpdate(AbstractUpdate):
    """``state[..., first_channel:] += mlp(features)``: the residual (Euler) update; with
    a zero last layer a fresh model is the identity."""

    mlp: CellMLP
    first_channel: int = eqx.field(static=True)

    def __init__(self, mlp: CellMLP, *, first_channel: int = 0):
        self.first_channel = _check_first(first_channel, mlp)
        self.mlp = mlp

    def __call__(self, state, features, input=None, *, key=None):
        f = self.first_channel
        return _splice(state, f, state[..., f:] + self.mlp(with_input(features, input)))


class NCAUpdate(AbstractUpdate):
    """The neural-CA update (Mordvintsev et al. 2020): a residual update of channels
    ``first_channel:`` in which each cell fires with probability ``fire_rate`` (drawn from
    ``key``; ``key=None`` fires every cell), then, with an ``alive`` mask, every updated
    channel of a cell that is not alive both before and after the update is set to zero.
    ``residual_noise`` > 0 adds Gaussian noise of that standard deviation to every cell's
    update before both masks, when a key is given (Randazzo et al. 2020's L2 model; see
    :func:`~cax_zoo.nca.stochastic_update`); 0 leaves the update and its use of the key
    exactly as without the option.
    """

    mlp: CellMLP
    alive: AliveMask | None
    fire_rate: float = eqx.field(static=True)
    first_channel: int = eqx.field(static=True)
    residual_noise: float = eqx.field(static=True)

    def __init__(self, mlp: CellMLP, *, fire_rate: float = 0.5, alive: AliveMask | None = None,
                 first_channel: int = 0, residual_noise: float = 0.0):
        self.first_channel = _check_first(first_channel, mlp)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.residual_noise = check_float("residual_noise", residual_noise, minimum=0.0, maximum=1.0)
        if alive is not None and not isinstance(alive, AliveMask):
            raise ConfigError(f"alive must be an AliveMask or None, got {type(alive).__name__}")
        self.mlp, self.alive = mlp, alive

    def __call__(self, state, features, input=None, *, key=None):
        f = self.first_channel
        pre = None if self.alive is None else self.alive(state)
        delta = self.mlp(with_input(features, input))
        rest = stochastic_update(state[..., f:], delta, self.fire_rate, key, residual_noise=self.residual_noise)
        if self.alive is None:
            return _splice(state, f, rest)
        post = self.alive(_splice(state, f, rest))
        return _splice(state, f, rest * (pre & post).astype(rest.dtype))
