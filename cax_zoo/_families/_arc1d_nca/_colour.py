"""Colour-equivariant perception and update for the 1D-ARC NCA.

A rule that moves or copies an object must carry *which* colour it moves, whatever the
colour is. With ``colour_channels = m > 0`` the state's channels form one group per
colour ``k = 1..9`` (its input one-hot, its output logit and ``m`` carrier channels) and
one shared group (the background's one-hot, logit and carriers, the validity mask and the
remaining hidden channels). Every colour group is read and written by the same weights,
and sees the other colours only through their sum, so permuting colours 1-9 of the input
permutes the output the same way (up to the per-colour ``bias``, which task contexts
shift to say which colours a task introduces). Hidden channels (after the 11 fixed ones):
``[logits (10) | carriers (10 m, colour-major) | shared (hidden - 10 - 10 m)]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._data._arc1d import NUM_COLOURS
from ..._errors import ConfigError, StateError
from ..._nca._perceive import AbstractPerceive
from ..._nca._update import AbstractUpdate
from ._views import FIXED, MASK, num_views, row_views

COLOURS = NUM_COLOURS - 1  # the permutable colours 1-9 (0 is the background)


def colour_groups(hidden: int, colour_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """State channel indices of the colour groups ``(9, 2 + m)`` (colour ``k``'s one-hot,
    logit and carriers, for ``k = 1..9``) and of the shared group ``(3 + m + s,)``
    (background one-hot, mask, background logit and carriers, shared hidden ``s``)."""
    m = colour_channels
    shared = hidden - NUM_COLOURS - NUM_COLOURS * m
    if m < 1 or shared < 0:
        raise ConfigError(f"colour_channels={m} needs hidden >= {NUM_COLOURS * (1 + m)}, got hidden={hidden}")
    carriers = FIXED + NUM_COLOURS + np.arange(NUM_COLOURS * m).reshape(NUM_COLOURS, m)
    colour = np.stack([np.concatenate([[k, FIXED + k], carriers[k]]) for k in range(1, NUM_COLOURS)])
    rest = FIXED + NUM_COLOURS * (1 + m) + np.arange(shared)
    return colour, np.concatenate([[0, MASK, FIXED], carriers[0], rest])


def tied_matrix(own: Array, shared_to_colour: Array, sum_to_colour: Array, shared: Array,
                sum_to_shared: Array) -> Array:
    """The dense matrix of a colour-tied linear map, from inputs ``[shared (a), colour 1
    (b), ..., colour 9 (b)]`` to outputs ``[shared (c), colour 1 (d), ..., colour 9 (d)]``:
    each colour's outputs read its own inputs through ``own`` ``(d, b)``, the shared inputs
    through ``shared_to_colour`` ``(d, a)`` and every colour's inputs through
    ``sum_to_colour`` ``(d, b)``; the shared outputs read the shared inputs through
    ``shared`` ``(c, a)`` and every colour's through ``sum_to_shared`` ``(c, b)``.
    Returns ``(a + 9 b, c + 9 d)``."""
    nine = jnp.eye(COLOURS, dtype=own.dtype)
    shared_rows = jnp.concatenate([shared.T, jnp.tile(shared_to_colour.T, (1, COLOURS))], axis=1)
    colour_rows = jnp.concatenate(
        [jnp.tile(sum_to_shared.T, (COLOURS, 1)), jnp.kron(nine, own.T) + jnp.tile(sum_to_colour.T, (COLOURS, COLOURS))],
        axis=1)
    return jnp.concatenate([shared_rows, colour_rows])


def _uniform(key, shape, fan_in: int, fan_out: int) -> Array:
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, jnp.float32, -lim, lim)


class ColourRowPerceive(AbstractPerceive):
    """Colour-equivariant features of each cell from the views of
    :func:`~cax_zoo.arc1d.row_views` (``V`` views): per colour ``k``, ``relu(own[k] +
    shared + sum over colours + bias[k])`` with one set of weights for every colour
    (``colour_features`` each), and shared features from the shared group and the colour
    sum. Output ``(L, shared_features + 9 * colour_features)``: shared first, then colour
    1's features, colour 2's, ... ``bias`` is that whole vector (task contexts shift it)."""

    colour_weight: Float[Array, "Fc V P"]
    shared_to_colour: Float[Array, "Fc V Q"]
    sum_to_colour: Float[Array, "Fc V P"]
    shared_weight: Float[Array, "Fs V Q"]
    sum_to_shared: Float[Array, "Fs V P"]
    bias: Float[Array, " F"]
    offsets: tuple[tuple[int], ...] = eqx.field(static=True)
    pooled: bool = eqx.field(static=True)
    segments: bool = eqx.field(static=True)
    context_decays: tuple[float, ...] = eqx.field(static=True)
    colour_index: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    shared_index: tuple[int, ...] = eqx.field(static=True)
    colour_features: int = eqx.field(static=True)
    shared_features: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, offsets: Sequence[int], *, num_channels: int, hidden: int, colour_channels: int,
                 colour_features: int, shared_features: int, pooled: bool, key: PRNGKeyArray,
                 segments: bool = False, context_decays: Sequence[float] = ()):
        colour, shared = colour_groups(hidden, colour_channels)
        self.offsets = tuple((int(o),) for o in offsets)
        self.pooled, self.segments = pooled, segments
        self.context_decays = tuple(float(d) for d in context_decays)
        self.colour_index = tuple(tuple(int(i) for i in row) for row in colour)
        self.shared_index = tuple(int(i) for i in shared)
        self.colour_features, self.shared_features = colour_features, shared_features
        self.num_channels, self.num_spatial_dims = num_channels, 1
        self.num_features = shared_features + COLOURS * colour_features
        p, q, v = colour.shape[1], shared.shape[0], num_views(len(self.offsets), pooled, segments, self.context_decays)
        k = jax.random.split(key, 5)
        fan_c, fan_s = v * (2 * p + q), v * (p + q)
        self.colour_weight = _uniform(k[0], (colour_features, v, p), fan_c, colour_features)
        self.shared_to_colour = _uniform(k[1], (colour_features, v, q), fan_c, colour_features)
        self.sum_to_colour = _uniform(k[2], (colour_features, v, p), fan_c, colour_features)
        self.shared_weight = _uniform(k[3], (shared_features, v, q), fan_s, shared_features)
        self.sum_to_shared = _uniform(k[4], (shared_features, v, p), fan_s, shared_features)
        self.bias = jnp.zeros((self.num_features,), jnp.float32)

    def full_weight(self) -> Float[Array, "VC F"]:
        """The tied weights as one dense ``(V * C, F)`` matrix over the views' channels:
        the perception is then one matmul, like :class:`~cax_zoo.arc1d.RowPerceive`'s."""
        per_view = jax.vmap(tied_matrix, in_axes=1)(self.colour_weight, self.shared_to_colour, self.sum_to_colour,
                                                    self.shared_weight, self.sum_to_shared)  # (V, Q + 9 P, F)
        grouped = np.concatenate([self.shared_index, np.ravel(self.colour_index)])  # channel of each row
        return per_view[:, np.argsort(grouped)].reshape(-1, self.num_features)  # rows in channel order

    def __call__(self, state: Float[Array, "L C"]) -> Float[Array, "L F"]:
        seen = row_views(state, self.offsets, pooled=self.pooled, segments=self.segments,
                         context_decays=self.context_decays, mask_channel=MASK)  # (L, V, C)
        return jax.nn.relu(seen.reshape(state.shape[0], -1) @ self.full_weight() + self.bias)


class ColourUpdate(AbstractUpdate):
    """The colour-equivariant residual update of the hidden channels of real cells: each
    colour's logit and carriers change by one linear map (shared by the colours) of its
    own features, the shared features and the colour sum; the shared group's by a linear
    map of the shared features and the colour sum. Zero-initialised (a fresh model is the
    identity); padding cells keep zero hidden channels. Every cell fires."""

    colour_weight: Float[Array, "O Fc"]
    shared_to_colour: Float[Array, "O Fs"]
    sum_to_colour: Float[Array, "O Fc"]
    colour_bias: Float[Array, " O"]
    shared_weight: Float[Array, "R Fs"]
    sum_to_shared: Float[Array, "R Fc"]
    shared_bias: Float[Array, " R"]
    order: tuple[int, ...] = eqx.field(static=True)
    colour_features: int = eqx.field(static=True)
    shared_features: int = eqx.field(static=True)

    def __init__(self, *, hidden: int, colour_channels: int, colour_features: int, shared_features: int):
        colour, shared = colour_groups(hidden, colour_channels)
        out_c, out_s = colour.shape[1] - 1, shared.shape[0] - 2  # one-hots and mask are fixed
        zeros = lambda *shape: jnp.zeros(shape, jnp.float32)  # noqa: E731
        self.colour_weight, self.shared_to_colour = zeros(out_c, colour_features), zeros(out_c, shared_features)
        self.sum_to_colour, self.colour_bias = zeros(out_c, colour_features), zeros(out_c)
        self.shared_weight, self.sum_to_shared = zeros(out_s, shared_features), zeros(out_s, colour_features)
        self.shared_bias = zeros(out_s)
        # hidden channel of each output: the shared group's, then colour 1's, colour 2's, ...
        made = np.concatenate([shared[2:], colour[:, 1:].ravel()]) - FIXED
        self.order = tuple(int(i) for i in np.argsort(made))
        self.colour_features, self.shared_features = colour_features, shared_features

    def full_weight(self) -> tuple[Float[Array, "F H"], Float[Array, " H"]]:
        """The tied weights and biases as one dense map of the features to the hidden channels."""
        weight = tied_matrix(self.colour_weight, self.shared_to_colour, self.sum_to_colour, self.shared_weight,
                             self.sum_to_shared)
        bias = jnp.concatenate([self.shared_bias, jnp.tile(self.colour_bias, COLOURS)])
        order = np.asarray(self.order)  # columns: shared outputs, colour 1's, ... -> hidden channels
        return weight[:, order], bias[order]

    def __call__(self, state, features, input=None, *, key=None):
        if input is not None:
            raise StateError("the 1D-ARC NCA takes no input")
        weight, bias = self.full_weight()
        mask = state[:, MASK : MASK + 1]
        return jnp.concatenate([state[:, :FIXED], (state[:, FIXED:] + features @ weight + bias) * mask], axis=-1)


def colour_sizes(features: int, colour_features: int) -> int:
    """The shared features left of ``features`` after 9 colours of ``colour_features``."""
    shared = features - COLOURS * colour_features
    if shared < 1:
        raise ConfigError(f"features={features} leaves no shared features after {COLOURS} colours of "
                          f"colour_features={colour_features}; use features > {COLOURS * colour_features}")
    return shared


__all__: Sequence[str] = ["ColourRowPerceive", "ColourUpdate", "colour_groups"]
