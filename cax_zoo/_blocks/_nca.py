"""The neural CA update: a per-cell MLP, a zero-initialised last layer, a stochastic fire
rate and alive masking (Mordvintsev et al. 2020)."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._boundary import Boundary
from .._errors import ConfigError
from ._neighbourhood import neighbourhood_offsets, shifted_views


class CellMLP(eqx.Module):
    """An MLP applied to every cell independently (a stack of 1x1 convolutions).

    The last layer is zero-initialised so that a fresh NCA starts as the identity map.
    """

    weights: tuple[Float[Array, "out in"], ...]
    biases: tuple[Float[Array, " out"], ...]

    def __init__(self, sizes: Sequence[int], *, key: PRNGKeyArray, zero_last: bool = True):
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ConfigError(f"CellMLP needs at least two positive layer sizes, got {list(sizes)}")
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
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = x @ w.T + b
            if i < len(self.weights) - 1:
                x = jax.nn.relu(x)
        return x


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


def stochastic_update(
    state: Float[Array, "*spatial C"],
    delta: Float[Array, "*spatial C"],
    fire_rate: float,
    key: PRNGKeyArray | None,
) -> Float[Array, "*spatial C"]:
    """``state + delta`` where each cell fires with probability ``fire_rate``.

    With ``key=None`` (or ``fire_rate >= 1``) every cell updates.
    """
    if key is None or fire_rate >= 1.0:
        return state + delta
    fire = jax.random.bernoulli(key, fire_rate, state.shape[:-1] + (1,))
    return state + delta * fire.astype(delta.dtype)
