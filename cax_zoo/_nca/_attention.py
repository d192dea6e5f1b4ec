"""Local self-attention perception (CAX's attention / ViT NCA): each cell attends to the
cells of its (2r + 1)^d window with multi-head dot-product attention.

A cell's token is a learned linear projection of its state, concatenated (optionally)
with learned embeddings of its grid coordinate along every axis (one table shared by the
axes, as in CAX). The centre cell's token gives the query; the keys and values are those
of the window's cells. With boundary ``"zero"`` cells beyond the edge are absent (not
attended to, as in CAX's masked full attention); the other boundaries attend to the cell
the padding copies (the wrapped, reflected or edge cell), with that cell's coordinate.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .._blocks._nca import require_key
from .._blocks._neighbourhood import shifted_views
from .._boundary import _PAD_MODES, Boundary
from .._errors import ConfigError, StateError
from .._validation import MAX_HIDDEN, check_int
from ._perceive import AbstractLocalPerceive, _check_common, window_offsets

MAX_HEADS = 64
MAX_POSITIONS = 4096
MAX_POSITION_FEATURES = 256
MAX_RADIUS = 3


def _lecun_normal(key: PRNGKeyArray, n_out: int, n_in: int) -> Float[Array, "out in"]:
    """Flax's default kernel initialiser (truncated normal, variance 1 / fan-in), as ``(out, in)``."""
    return jax.nn.initializers.lecun_normal()(key, (n_in, n_out), jnp.float32).T


class LocalAttentionPerceive(AbstractLocalPerceive):
    """Multi-head self-attention of every cell over its ``(2 radius + 1)^d`` window.

    Tokens ``(T,)``: ``projection @ state + b`` (``projection_size``), then, when
    ``max_position`` is set, the learned embedding (``position_features`` wide) of the
    cell's coordinate along each axis (``T = projection_size + d * position_features``).
    Queries, keys and values have ``num_heads`` heads of ``qkv_size / num_heads`` each;
    features ``(F,)`` = ``output @ concat_heads(softmax(q k^T / sqrt(head size)) v) + b``.
    CAX's notebook: 32 channels, projection 32, 4 position features per axis, 4 heads,
    qkv 128, 64 features, radius 1.

    Positional embeddings make the perception depend on where the cell is: grids may have
    at most ``max_position`` cells per axis, and :meth:`from_patches` needs ``positions``.
    ``max_position=None`` leaves them out (translation-invariant). ``key`` initialises
    the parameters (Flax's defaults: LeCun normal kernels, zero biases, embeddings
    ``N(0, 1 / position_features)``).
    """

    projection: Float[Array, "P C"]
    projection_bias: Float[Array, " P"]
    position_table: Float[Array, "L E"] | None
    query: Float[Array, "HD T"]
    query_bias: Float[Array, " HD"]
    key_weight: Float[Array, "HD T"]
    key_bias: Float[Array, " HD"]
    value: Float[Array, "HD T"]
    value_bias: Float[Array, " HD"]
    output: Float[Array, "F HD"]
    output_bias: Float[Array, " F"]
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    num_heads: int = eqx.field(static=True)
    qkv_size: int = eqx.field(static=True)
    projection_size: int = eqx.field(static=True)
    max_position: int | None = eqx.field(static=True)
    position_features: int = eqx.field(static=True)
    radius: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    offsets: tuple[tuple[int, ...], ...] = eqx.field(static=True)

    def __init__(self, *, num_spatial_dims: int, num_channels: int, num_features: int, num_heads: int = 4,
                 qkv_size: int = 128, projection_size: int = 32, max_position: int | None = None,
                 position_features: int = 4, radius: int = 1, boundary: Boundary = "zero",
                 key: PRNGKeyArray):
        d, c, self.boundary = _check_common(num_spatial_dims, num_channels, boundary)
        self.num_spatial_dims, self.num_channels = d, c
        self.num_features = check_int("num_features", num_features, minimum=1, maximum=MAX_HIDDEN)
        self.num_heads = check_int("num_heads", num_heads, minimum=1, maximum=MAX_HEADS)
        self.qkv_size = check_int("qkv_size", qkv_size, minimum=1, maximum=MAX_HIDDEN)
        if self.qkv_size % self.num_heads:
            raise ConfigError(f"qkv_size ({self.qkv_size}) must be a multiple of num_heads ({self.num_heads})")
        self.projection_size = check_int("projection_size", projection_size, minimum=1, maximum=MAX_HIDDEN)
        self.max_position = (None if max_position is None else
                             check_int("max_position", max_position, minimum=1, maximum=MAX_POSITIONS))
        self.position_features = check_int("position_features", position_features, minimum=1,
                                           maximum=MAX_POSITION_FEATURES)
        self.radius = check_int("radius", radius, minimum=1, maximum=MAX_RADIUS)
        self.offsets = window_offsets(d, self.radius)
        key = require_key(key)
        k_proj, k_pos, k_q, k_k, k_v, k_out = jax.random.split(key, 6)
        t = self.token_size
        hd, f = self.qkv_size, self.num_features
        self.projection = _lecun_normal(k_proj, self.projection_size, c)
        self.projection_bias = jnp.zeros((self.projection_size,), jnp.float32)
        self.position_table = (None if self.max_position is None else
                               jax.random.normal(k_pos, (self.max_position, self.position_features), jnp.float32)
                               / math.sqrt(self.position_features))
        self.query, self.key_weight, self.value = (_lecun_normal(k, hd, t) for k in (k_q, k_k, k_v))
        self.query_bias, self.key_bias, self.value_bias = (jnp.zeros((hd,), jnp.float32) for _ in range(3))
        self.output = _lecun_normal(k_out, f, hd)
        self.output_bias = jnp.zeros((f,), jnp.float32)

    @property
    def token_size(self) -> int:
        """``T``: the projection plus, with positional embeddings, ``d * position_features``."""
        extra = 0 if self.max_position is None else self.num_spatial_dims * self.position_features
        return self.projection_size + extra

    # ------------------------------------------------------------------ geometry (static)
    def _check_shape(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        spatial = tuple(int(n) for n in spatial)
        if len(spatial) != self.num_spatial_dims:
            raise StateError(f"LocalAttentionPerceive works on {self.num_spatial_dims}-D grids, got spatial "
                             f"shape {spatial}")
        if self.max_position is not None and max(spatial) > self.max_position:
            raise StateError(f"this attention perception embeds at most {self.max_position} positions per axis, "
                             f"got a grid of shape {spatial}")
        return spatial

    def positions(self, spatial: tuple[int, ...]) -> Int[np.ndarray, "*spatial K d"]:
        """The grid coordinate of every cell's window, under ``boundary``: the cell whose
        state the window holds (for ``"zero"``, 0 where the window leaves the grid)."""
        spatial = self._check_shape(spatial)
        r, mode = self.radius, _PAD_MODES[self.boundary]
        axes = []
        for n in spatial:
            padded = np.pad(np.arange(n), r, mode=mode)
            axes.append(np.stack([padded[r + o : r + o + n] for o in range(-r, r + 1)], axis=-1))  # (n, 2r+1)
        grids = np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij")
        offs = np.asarray(self.offsets) + r  # (K, d): columns of each axis's table
        out = np.stack([axes[a][grids[a][..., None], offs[:, a]] for a in range(len(spatial))], axis=-1)
        return out.astype(np.int32)

    def present(self, spatial: tuple[int, ...]) -> Bool[np.ndarray, "*spatial K"]:
        """Which cells of every window exist: all under a wrapping or padding boundary,
        only those inside the grid under ``"zero"``."""
        spatial = self._check_shape(spatial)
        inside = np.ones(spatial + (len(self.offsets),), bool)
        if self.boundary != "zero":
            return inside
        grids = np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij")
        offs = np.asarray(self.offsets)
        for a, n in enumerate(spatial):
            j = grids[a][..., None] + offs[:, a]
            inside &= (j >= 0) & (j < n)
        return inside

    # ------------------------------------------------------------------ attention
    def from_patches(self, patches: Float[Array, "*cells K C"], positions: Int[Array, "*cells K d"] | None = None,
                     present: Bool[Array, "*cells K"] | None = None) -> Float[Array, "*cells F"]:
        """Features from windows ``patches`` (``patches[..., k, :]`` the state at
        ``offsets[k]``); ``positions`` (needed with positional embeddings) the grid
        coordinate of each (see :meth:`positions`), ``present`` which of them exist
        (default all; see :meth:`present`). The plain statement of the attention, which
        :meth:`__call__` computes on a grid without gathering windows."""
        if patches.shape[-2:] != (len(self.offsets), self.num_channels):
            raise StateError(f"from_patches takes windows of shape (..., {len(self.offsets)}, {self.num_channels}), "
                             f"got {patches.shape}")
        tokens = patches @ self.projection.T + self.projection_bias
        if self.position_table is not None:
            if positions is None:
                raise StateError("this attention perception embeds positions: pass positions= (see .positions())")
            emb = self.position_table[jnp.asarray(positions, jnp.int32)]  # (*cells, K, d, E)
            tokens = jnp.concatenate([tokens, emb.reshape(emb.shape[:-2] + (-1,))], axis=-1)
        h = self.num_heads
        dh = self.qkv_size // h
        centre = tokens[..., len(self.offsets) // 2, :]
        q = (centre @ self.query.T + self.query_bias).reshape(centre.shape[:-1] + (h, dh))
        k = (tokens @ self.key_weight.T + self.key_bias).reshape(tokens.shape[:-1] + (h, dh))
        v = (tokens @ self.value.T + self.value_bias).reshape(tokens.shape[:-1] + (h, dh))
        logits = jnp.einsum("...hd,...khd->...hk", q, k) / math.sqrt(dh)
        if present is not None:
            logits = jnp.where(jnp.expand_dims(jnp.asarray(present, bool), -2), logits,
                               jnp.finfo(logits.dtype).min)
        heads = jnp.einsum("...hk,...khd->...hd", jax.nn.softmax(logits, axis=-1), v)
        return heads.reshape(heads.shape[:-2] + (-1,)) @ self.output.T + self.output_bias

    def __call__(self, state: Float[Array, "*spatial C"]) -> Float[Array, "*spatial F"]:
        if state.ndim != self.num_spatial_dims + 1 or state.shape[-1] != self.num_channels:
            raise StateError(f"LocalAttentionPerceive takes one state (*spatial[{self.num_spatial_dims}], "
                             f"{self.num_channels}), got shape {state.shape}")
        spatial = self._check_shape(state.shape[:-1])
        # Every cell's query, key and value once (the projection folded into one (3 HD, C)
        # matrix, positions into a per-cell constant), then one shifted view of the keys
        # and values per window offset: no (*spatial, K, ...) window array.
        w = jnp.concatenate([self.query, self.key_weight, self.value])  # (3 HD, T)
        b = jnp.concatenate([self.query_bias, self.key_bias, self.value_bias])
        p = self.projection_size
        qkv = state @ (w[:, :p] @ self.projection).T + (w[:, :p] @ self.projection_bias + b)
        if self.position_table is not None:
            coords = np.stack(np.meshgrid(*[np.arange(n) for n in spatial], indexing="ij"), -1)
            emb = self.position_table[jnp.asarray(coords)]  # (*spatial, d, E)
            qkv = qkv + emb.reshape(emb.shape[:-2] + (-1,)) @ w[:, p:].T
        hd, h = self.qkv_size, self.num_heads
        q, kv = qkv[..., :hd] / math.sqrt(hd // h), qkv[..., hd:]
        # per offset: q * k summed within each head, a softmax over the offsets written out
        # element-wise, then each head's weight spread back over its channels: one array
        # per offset, no (*spatial, K, ...) window array, which XLA fuses well on a CPU.
        split = q.shape[:-1] + (h, hd // h)
        views = shifted_views(kv, np.asarray(self.offsets, np.int32), self.boundary,
                              num_spatial_dims=self.num_spatial_dims)
        logits = [jnp.sum((q * v[..., :hd]).reshape(split), axis=-1) for v in views]  # K x (*spatial, H)
        if self.boundary == "zero":
            present = self.present(spatial)
            low = jnp.finfo(q.dtype).min
            logits = [jnp.where(jnp.asarray(present[..., i, None]), x, low) for i, x in enumerate(logits)]
        top = functools.reduce(jnp.maximum, logits)
        exps = [jnp.exp(x - top) for x in logits]
        total = functools.reduce(jnp.add, exps)
        heads = functools.reduce(jnp.add, [(e / total)[..., None] * v[..., hd:].reshape(split)
                                           for e, v in zip(exps, views)])
        return heads.reshape(q.shape) @ self.output.T + self.output_bias
