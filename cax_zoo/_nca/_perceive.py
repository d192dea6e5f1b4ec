"""Perception: what a cell of a neural CA sees of its neighbourhood, as a feature vector.

A perceive module maps one unbatched channel-last state ``(*spatial, C)`` to features
``(*spatial, F)``; every module works in any number of spatial dimensions.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._conv import fixed_depthwise_conv, kernel_stack
from .._blocks._nca import require_key
from .._blocks._neighbourhood import shifted_views
from .._boundary import Boundary, check_boundary
from .._errors import ConfigError
from .._validation import MAX_CHANNELS, MAX_HIDDEN, check_choice, check_int, check_int_tuple

KERNELS = ("identity", "sobel", "laplacian")
"""Names of the fixed kernels :class:`KernelPerceive` stacks."""

MAX_OFFSETS = 4096


class AbstractPerceive(eqx.Module):
    """Maps an unbatched state ``(*spatial, C)`` to per-cell features ``(*spatial, F)``.

    Subclasses provide ``num_spatial_dims``, ``num_channels`` (C) and ``num_features``
    (F), and implement :meth:`__call__`. Perceptions that read a fixed set of neighbour
    offsets derive from :class:`AbstractLocalPerceive`; non-local ones (e.g. attention
    over all cells) derive from this class directly.
    """

    num_spatial_dims: eqx.AbstractVar[int]
    num_channels: eqx.AbstractVar[int]
    num_features: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, state: Float[Array, "*spatial C"]) -> Float[Array, "*spatial F"]:
        """The features of every cell."""


class AbstractLocalPerceive(AbstractPerceive):
    """A perception of the cells at fixed ``offsets`` around each cell (its neighbourhood).

    Besides :meth:`__call__` on a grid, :meth:`from_patches` computes the same features
    from gathered neighbourhoods ``(*cells, K, C)``, so a family can run the rule on a
    list of cells (e.g. only the live ones) instead of a whole grid.
    """

    offsets: eqx.AbstractVar[tuple[tuple[int, ...], ...]]
    boundary: eqx.AbstractVar[Boundary]

    @abc.abstractmethod
    def from_patches(self, patches: Float[Array, "*cells K C"]) -> Float[Array, "*cells F"]:
        """Features from neighbourhoods: ``patches[..., k, :]`` is the state at ``offsets[k]``."""

    def patches(self, state: Float[Array, "*spatial C"]) -> Float[Array, "*spatial K C"]:
        """Every cell's neighbourhood under ``boundary``, in the order of ``offsets``."""
        return neighbourhood_patches(state, self.offsets, self.boundary)


def neighbourhood_patches(state: Float[Array, "*spatial C"], offsets: Sequence[Sequence[int]],
                          boundary: Boundary) -> Float[Array, "*spatial K C"]:
    """``out[i, k] = state[i + offsets[k]]`` under ``boundary`` (stacked on axis ``-2``)."""
    offs = np.asarray(offsets, np.int32).reshape(len(offsets), -1)
    views = shifted_views(state, offs, boundary, num_spatial_dims=offs.shape[1])
    return jnp.stack(views, axis=-2)


def window_offsets(num_spatial_dims: int, radius: int = 1) -> tuple[tuple[int, ...], ...]:
    """The ``(2 radius + 1)^d`` offsets of a square window, row-major (lexicographic)."""
    return tuple(itertools.product(range(-radius, radius + 1), repeat=num_spatial_dims))


def _check_common(num_spatial_dims, num_channels, boundary):
    d = check_int("num_spatial_dims", num_spatial_dims, minimum=1, maximum=3)
    c = check_int("num_channels", num_channels, minimum=1, maximum=MAX_CHANNELS)
    return d, c, check_boundary(boundary)


class KernelPerceive(AbstractLocalPerceive):
    """Fixed depthwise 3^d kernels applied to every channel: ``"identity"``, ``"sobel"``
    (one gradient kernel per axis) and ``"laplacian"`` (see :func:`cax_zoo.blocks.kernel_stack`).

    Features are grouped per channel, ``[c0*k0, c0*k1, ..., c1*k0, ...]``, so
    ``num_features = num_channels * num_kernels``. No parameters.
    """

    kernels: tuple[str, ...] = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    offsets: tuple[tuple[int, ...], ...] = eqx.field(static=True)

    def __init__(self, kernels: Sequence[str] = ("identity", "sobel"), *, num_spatial_dims: int,
                 num_channels: int, boundary: Boundary = "zero"):
        d, c, self.boundary = _check_common(num_spatial_dims, num_channels, boundary)
        if isinstance(kernels, str) or not isinstance(kernels, (list, tuple)) or not kernels:
            raise ConfigError(f"kernels must be a non-empty list of {', '.join(KERNELS)}, got {kernels!r}")
        self.kernels = tuple(check_choice(f"kernels[{i}]", k, KERNELS) for i, k in enumerate(kernels))
        self.num_spatial_dims, self.num_channels = d, c
        self.num_features = c * len(kernel_stack(self.kernels, d))
        self.offsets = window_offsets(d, 1)

    def _stack(self) -> np.ndarray:
        return kernel_stack(self.kernels, self.num_spatial_dims)

    def __call__(self, state: Float[Array, "*spatial C"]) -> Float[Array, "*spatial F"]:
        return fixed_depthwise_conv(state, self._stack(), self.boundary)

    def from_patches(self, patches: Float[Array, "*cells K C"]) -> Float[Array, "*cells F"]:
        k = self._stack()
        taps = jnp.asarray(k.reshape(k.shape[0], -1).T)  # (3^d, num_kernels), row-major offsets
        feats = jnp.einsum("...kc,kf->...cf", patches, taps)
        return feats.reshape(feats.shape[:-2] + (-1,))


class ConvPerceive(AbstractLocalPerceive):
    """A learned convolution over the cells at ``offsets`` (default a 3^d window) followed
    by ReLU: ``relu(weight @ concat_k(state[i + offsets[k]]) + bias)``.

    ``weight`` has shape ``(F, K * C)`` with input index ``k * C + c`` (Glorot-uniform init),
    ``bias`` ``(F,)`` (zeros). ``offsets`` may be any set of integer offsets, e.g. a window
    plus a few far cells.
    """

    weight: Float[Array, "F KC"]
    bias: Float[Array, " F"]
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    offsets: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(self, *, num_spatial_dims: int, num_channels: int, num_features: int,
                 offsets: Sequence[Sequence[int]] | None = None, boundary: Boundary = "zero",
                 activation: str = "relu", key: PRNGKeyArray):
        d, c, self.boundary = _check_common(num_spatial_dims, num_channels, boundary)
        f = check_int("num_features", num_features, minimum=1, maximum=MAX_HIDDEN)
        self.activation = check_choice("activation", activation, ("relu", "identity"))
        if offsets is None:
            offs = window_offsets(d, 1)
        else:
            if isinstance(offsets, (str, bytes)) or not isinstance(offsets, (list, tuple)) or not offsets:
                raise ConfigError(f"offsets must be a non-empty list of {d}-tuples, got {offsets!r}")
            if len(offsets) > MAX_OFFSETS:
                raise ConfigError(f"offsets has {len(offsets)} entries; the limit is {MAX_OFFSETS}")
            offs = tuple(check_int_tuple(f"offsets[{i}]", o, length=d, minimum=-1024, maximum=1024)
                         for i, o in enumerate(offsets))
        key = require_key(key)
        self.num_spatial_dims, self.num_channels, self.num_features = d, c, f
        self.offsets = offs
        n_in = len(offs) * c
        lim = math.sqrt(6.0 / (n_in + f))
        self.weight = jax.random.uniform(key, (f, n_in), jnp.float32, -lim, lim)
        self.bias = jnp.zeros((f,), jnp.float32)

    def from_patches(self, patches: Float[Array, "*cells K C"]) -> Float[Array, "*cells F"]:
        return self.apply(patches.reshape(patches.shape[:-2] + (-1,)))

    def apply(self, inputs: Float[Array, "*cells KC"]) -> Float[Array, "*cells F"]:
        """The layer on flattened neighbourhoods ``(*cells, K * C)``."""
        h = inputs @ self.weight.T + self.bias
        return jax.nn.relu(h) if self.activation == "relu" else h

    def __call__(self, state: Float[Array, "*spatial C"]) -> Float[Array, "*spatial F"]:
        return self.from_patches(self.patches(state))
