"""The variational pieces of a neural CA decoder (CAX's ``nn/vae.py``): a convolutional
encoder from an image to a diagonal Gaussian over a latent, the reparameterisation trick
and the KL divergence to the standard normal prior.

An NCA conditioned on the latent (given as the per-step ``input`` of ``rollout``) is then
the VAE's decoder, as in CAX's growing unsupervised NCA.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._nca import require_key
from .._errors import ConfigError, StateError
from .._validation import MAX_CHANNELS, MAX_HIDDEN, check_int, check_int_tuple

MAX_SIDE = 1024
MAX_FLAT = 8192
"""Largest flattened feature map the encoder's dense layer takes (its weight is square:
256 MiB at the limit; CAX's MNIST encoder has 7 x 7 x 32 = 1,568)."""


def _dense(key: PRNGKeyArray, n_in: int, n_out: int) -> tuple[Array, Array]:
    """LeCun-normal weight ``(n_out, n_in)`` (truncated normal, fan-in; Flax's default, so
    CAX's) and a zero bias."""
    w = jax.nn.initializers.lecun_normal(in_axis=1, out_axis=0)(key, (n_out, n_in), jnp.float32)
    return w, jnp.zeros((n_out,), jnp.float32)


class ConvEncoder(eqx.Module):
    """CAX's VAE encoder: stride-2 3x3 convolutions (``SAME`` padding, ReLU) from
    ``features[0]`` input channels through ``features[1:]``, flattened, a dense layer of
    the same width (ReLU), then two dense heads: the mean and the log-variance of a
    diagonal Gaussian over a ``latent_size`` latent.

    ``spatial_shape`` is the input's ``(H, W)`` (any number of spatial axes, 1 to 3);
    each convolution halves every side, rounding up. Inputs are channel-last
    ``(*B, *spatial, features[0])``. ``key`` initialises the weights (LeCun normal, zero
    biases, as Flax does).
    """

    conv_weights: tuple[Float[Array, "*k in out"], ...]
    conv_biases: tuple[Float[Array, " out"], ...]
    hidden: tuple[Float[Array, "flat flat"], Float[Array, " flat"]]
    mean_head: tuple[Float[Array, "L flat"], Float[Array, " L"]]
    logvar_head: tuple[Float[Array, "L flat"], Float[Array, " L"]]
    spatial_shape: tuple[int, ...] = eqx.field(static=True)
    features: tuple[int, ...] = eqx.field(static=True)
    latent_size: int = eqx.field(static=True)

    def __init__(self, spatial_shape: Sequence[int], features: Sequence[int], latent_size: int, *,
                 key: PRNGKeyArray):
        shape = check_int_tuple("spatial_shape", spatial_shape, minimum=1, maximum=MAX_SIDE)
        if not 1 <= len(shape) <= 3:
            raise ConfigError(f"spatial_shape must have 1 to 3 sides, got {spatial_shape!r}")
        feats = check_int_tuple("features", features, minimum=1, maximum=MAX_CHANNELS)
        if not 1 <= len(feats) <= 9:
            raise ConfigError(f"features must list 1 to 9 channel counts (input first), got {features!r}")
        self.latent_size = check_int("latent_size", latent_size, minimum=1, maximum=MAX_HIDDEN)
        self.spatial_shape, self.features = shape, feats
        flat = self.flat_size
        if flat > MAX_FLAT:
            raise ConfigError(f"the encoder's flattened feature map has {flat} values (at most {MAX_FLAT}): "
                              "use fewer channels in features or a smaller image")
        key = require_key(key)
        keys = jax.random.split(key, len(feats) + 2)
        d = len(shape)
        weights, biases = [], []
        for i, (n_in, n_out) in enumerate(zip(feats[:-1], feats[1:])):
            kernel = (3,) * d + (n_in, n_out)  # spatial..., in, out; fan-in = 3^d n_in
            weights.append(jax.nn.initializers.lecun_normal(in_axis=tuple(range(d + 1)), out_axis=d + 1)(
                keys[i], kernel, jnp.float32))
            biases.append(jnp.zeros((n_out,), jnp.float32))
        self.conv_weights, self.conv_biases = tuple(weights), tuple(biases)
        self.hidden = _dense(keys[-3], flat, flat)
        self.mean_head = _dense(keys[-2], flat, self.latent_size)
        self.logvar_head = _dense(keys[-1], flat, self.latent_size)

    @property
    def flat_size(self) -> int:
        """Values in the last feature map: every side halved (rounded up) per convolution."""
        sides = [s for s in self.spatial_shape]
        for _ in self.features[1:]:
            sides = [math.ceil(s / 2) for s in sides]
        return math.prod(sides) * self.features[-1]

    def __call__(self, x: Float[Array, "*B *spatial C"]) -> tuple[Float[Array, "*B L"], Float[Array, "*B L"]]:
        """``(mean, logvar)`` of the latent of every image of ``x``."""
        d = len(self.spatial_shape)
        tail = self.spatial_shape + (self.features[0],)
        if x.ndim < d + 1 or tuple(x.shape[-(d + 1):]) != tail:
            raise StateError(f"the encoder takes images of shape (*batch, {', '.join(map(str, tail))}), "
                             f"got shape {tuple(x.shape)}")
        batch = x.shape[: x.ndim - d - 1]
        h = jnp.asarray(x, jnp.float32).reshape((-1,) + tail)
        spatial = "DHW"[-d:]
        dims = ("N" + spatial + "C", spatial + "IO", "N" + spatial + "C")
        for w, b in zip(self.conv_weights, self.conv_biases):
            h = jax.lax.conv_general_dilated(h, w, window_strides=(2,) * d, padding="SAME",
                                             dimension_numbers=dims)
            h = jax.nn.relu(h + b)
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ self.hidden[0].T + self.hidden[1])
        mean = h @ self.mean_head[0].T + self.mean_head[1]
        logvar = h @ self.logvar_head[0].T + self.logvar_head[1]
        return mean.reshape(batch + (self.latent_size,)), logvar.reshape(batch + (self.latent_size,))


def reparameterize(mean: Float[Array, "*B L"], logvar: Float[Array, "*B L"],
                   key: PRNGKeyArray) -> Float[Array, "*B L"]:
    """A latent drawn from ``N(mean, exp(logvar))`` as ``mean + exp(logvar / 2) * eps``,
    ``eps ~ N(0, I)`` from ``key``: differentiable in ``mean`` and ``logvar``."""
    mean = jnp.asarray(mean)
    return mean + jnp.exp(0.5 * jnp.asarray(logvar)) * jax.random.normal(key, mean.shape, mean.dtype)


def kl_divergence(mean: Float[Array, "*B L"], logvar: Float[Array, "*B L"]) -> Float[Array, "*B"]:
    """``KL(N(mean, exp(logvar)) || N(0, I))`` per latent, summed over its last axis:
    ``-1/2 sum(1 + logvar - mean^2 - exp(logvar))`` (0 for the prior itself)."""
    mean, logvar = jnp.asarray(mean), jnp.asarray(logvar)
    return -0.5 * jnp.sum(1.0 + logvar - mean**2 - jnp.exp(logvar), axis=-1)
