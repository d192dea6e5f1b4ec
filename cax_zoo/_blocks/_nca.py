"""The neural CA update: a per-cell MLP, a zero-initialised last layer, a stochastic fire
rate and alive masking (Mordvintsev et al. 2020)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._boundary import Boundary
from .._errors import ConfigError, StateError
from .._keys import check_key
from .._validation import MAX_HIDDEN, check_int
from ._neighbourhood import neighbourhood_offsets, shifted_views


def require_key(key: PRNGKeyArray | None, what: str = "key") -> PRNGKeyArray:
    """``key`` checked as a PRNG key; ``None`` is refused: random parameter initialisation
    takes an explicit key, as in Equinox (``jax.random.key(SEED)``)."""
    if key is None:
        raise ConfigError(f"{what} is required to initialise the parameters at random: pass "
                          f"{what}=jax.random.key(SEED) (or load trained weights)")
    return check_key(key, name=what)


def optional_key(key: PRNGKeyArray | None, what: str = "key") -> PRNGKeyArray | None:
    """``key`` checked as a PRNG key, or ``None``."""
    return None if key is None else check_key(key, name=what)


class CellMLP(eqx.Module):
    """An MLP applied to every cell independently (a stack of 1x1 convolutions).

    The last layer is zero-initialised so that a fresh NCA starts as the identity map.
    """

    weights: tuple[Float[Array, "out in"], ...]
    biases: tuple[Float[Array, " out"], ...]

    def __init__(self, sizes: Sequence[int], *, key: PRNGKeyArray, zero_last: bool = True):
        if not isinstance(sizes, (list, tuple)) or not 2 <= len(sizes) <= 64:
            raise ConfigError(f"CellMLP needs 2 to 64 layer sizes, got {sizes!r}")
        sizes = [check_int(f"CellMLP sizes[{i}]", s, minimum=1, maximum=MAX_HIDDEN) for i, s in enumerate(sizes)]
        key = require_key(key)
        keys = jax.random.split(key, len(sizes) - 1)
        weights, biases = [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            if last and zero_last:
                w = jnp.zeros((n_out, n_in), jnp.float32)
            else:
                lim = (6.0 / (n_in + n_out)) ** 0.5  # Glorot uniform
                w = jax.random.uniform(keys[i], (n_out, n_in), jnp.float32, -lim, lim)
            weights.append(w)
            biases.append(jnp.zeros((n_out,), jnp.float32))
        self.weights = tuple(weights)
        self.biases = tuple(biases)

    def __call__(self, x: Float[Array, "*cells in"]) -> Float[Array, "*cells out"]:
        n_in = self.weights[0].shape[1]
        if x.shape[-1] != n_in:
            raise StateError(f"CellMLP takes {n_in} features per cell, got {x.shape[-1]} (an input given to a "
                             "model whose update was not sized for it?)")
        # One (cells, features) matrix: XLA's CPU loops over rank-4 activations ran about
        # 2x slower than over the same data as a matrix (vmapped over a batch: rank 3).
        lead = x.shape[:-1]
        x = x.reshape((math.prod(lead), n_in))
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if i < len(self.weights) - 1:
                x = jax.nn.relu(x)
        return x.reshape(lead + (x.shape[-1],))


def alive_mask(
    state: Float[Array, "*spatial C"],
    channel: int,
    threshold: float,
    boundary: Boundary,
    *,
    num_spatial_dims: int,
) -> Array:
    """Cells whose Moore neighbourhood (centre included) has ``state[..., channel]`` above
    ``threshold``; shape ``(*spatial, 1)``."""
    alpha = state[..., channel : channel + 1]
    offsets = neighbourhood_offsets("moore", 1, num_spatial_dims, include_centre=True)
    views = shifted_views(alpha, offsets, boundary, num_spatial_dims=num_spatial_dims)
    return jnp.max(jnp.stack(views), axis=0) > threshold


def update_draws(
    key: PRNGKeyArray,
    spatial_shape: tuple[int, ...],
    num_channels: int,
    fire_rate: float,
    residual_noise: float = 0.0,
    dtype=jnp.float32,
) -> tuple[Float[Array, "*spatial 1"] | None, Float[Array, "*spatial C"] | None]:
    """The random draws of one stochastic update of a grid: the fire mask ``(*spatial, 1)``
    (None when ``fire_rate >= 1``) and the residual noise ``(*spatial, num_channels)`` (None
    when ``residual_noise`` is 0). With noise, ``key`` is split into a fire key and a noise
    key; without, ``key`` draws the fire mask itself. :func:`stochastic_update` draws
    through this, so any path that calls it with the same key draws the same cells."""
    noise = None
    if residual_noise > 0.0:
        key, k_noise = jax.random.split(key)
        noise = residual_noise * jax.random.normal(k_noise, tuple(spatial_shape) + (num_channels,), dtype)
    fire = None
    if fire_rate < 1.0:
        fire = jax.random.bernoulli(key, fire_rate, tuple(spatial_shape) + (1,)).astype(dtype)
    return fire, noise


def stochastic_update(
    state: Float[Array, "*spatial C"],
    delta: Float[Array, "*spatial C"],
    fire_rate: float,
    key: PRNGKeyArray | None,
    *,
    residual_noise: float = 0.0,
) -> Float[Array, "*spatial C"]:
    """``state + delta`` where each cell fires with probability ``fire_rate``.

    With ``key=None`` (or ``fire_rate >= 1``) every cell updates. ``residual_noise > 0``
    (with a key) adds Gaussian noise of that standard deviation to every cell's ``delta``
    before the fire mask (Randazzo et al. 2020). The draws are :func:`update_draws`'.
    """
    if key is None:
        return state + delta
    fire, noise = update_draws(key, state.shape[:-1], delta.shape[-1], fire_rate, residual_noise, delta.dtype)
    if noise is not None:
        delta = delta + noise
    return state + delta if fire is None else state + delta * fire
