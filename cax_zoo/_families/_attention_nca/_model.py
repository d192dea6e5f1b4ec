"""The attention NCA (CAX's ViT NCA): a neural CA whose cells perceive their 3x3
neighbourhood with multi-head self-attention, trained to inpaint MNIST digits with half
of their pixels hidden.

State ``(S, S, C)`` float32 with ``S = size``: as in CAX, the digit is the last channel;
a fresh state holds the masked digit there (hidden pixels 0; there is no mask channel, the
model must tell missing ink from background itself) and zeros in the ``C - 1`` other
channels; the reconstruction is read from the same channel. Each step: perceive with
:class:`~cax_zoo.nca.LocalAttentionPerceive` (a linear projection of the state plus learned
row and column embeddings, 4-head attention of each cell over its 3x3 window, zero
boundary: cells past the edge are not attended to), then the NCA update: a residual ReLU
MLP with a zero-initialised output layer applied by each cell with probability
``fire_rate`` (CAX's cell dropout) and no alive mask.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, optional_key, require_key
from ..._boundary import Boundary, check_boundary
from ..._errors import StateError
from ..._image_input import check_image, to_grey
from ..._nca._attention import LocalAttentionPerceive
from ..._nca._model import AbstractNCA
from ..._nca._update import NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, MAX_STEPS, check_float, check_int
from .._mnist_self_classify._images import as_grey, draw_digit
from .._self_autoencoding_mnist._model import resize_digits

MAX_SIZE = 112
MASK_KEY = 20_251_205
"""The key of the pixel mask when none is given (``init_state``, ``cax-zoo run``)."""


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


def visible_pixels(key: PRNGKeyArray, shape: tuple[int, ...], mask_ratio: float) -> Bool[Array, "*shape"]:
    """CAX's mask: each pixel stays visible with probability ``1 - mask_ratio``."""
    return jax.random.bernoulli(key, 1.0 - mask_ratio, shape)


def _test_set_eval(name: str, metrics) -> str:
    """``cax-zoo eval NAME`` for cards with test-set figures; none for validation-only cards."""
    return f"cax-zoo eval {name}" if "masked_mse" in metrics else ""


CARD = CardSpec(
    task_type="image-to-image", task_name="Image inpainting",
    dataset_type="ylecun/mnist", dataset_name="MNIST", dataset_split="test",
    datasets=("ylecun/mnist",), tags=("neural-cellular-automata", "attention-nca", "inpainting", "mnist"),
    results=(
        CardResult("masked_mse", "mse", "MSE on the hidden pixels"),
        CardResult("mse", "mse", "MSE on every pixel"),
    ),
    eval_command=_test_set_eval,
)
"""What the attention NCA's model cards declare (Hub ``model-index``, the eval command)."""


@register(
    "attention_nca",
    description="Attention neural CA: cells perceive their 3x3 neighbourhood with multi-head self-attention; "
                "trained to inpaint MNIST digits with half their pixels hidden",
    paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
          "attention-based NCA (CAX notebook 47)",
    tags=("neural", "2d", "attention", "inpainting", "mnist"),
    recipe="recipes.attention_nca",
    evaluate=_evaluate,
    card=CARD,
)
class AttentionNCA(AbstractNCA):
    """Attention NCA. State ``(size, size, num_channels)`` float32, the digit in the last
    channel. ``num_features``: the attention's output (CAX's ``perception_size``);
    ``num_heads``, ``qkv_size`` (CAX's ``hidden_size`` in the attention),
    ``projection_size``, ``position_features``: see
    :class:`~cax_zoo.nca.LocalAttentionPerceive`; ``hidden_units``: the update MLP's hidden
    layer; ``mask_ratio``: the share of pixels hidden (the default of the evaluation and of
    :meth:`init_state`); ``steps``: the number of steps it was trained for. Defaults are
    CAX's notebook. ``key`` initialises the parameters (required)."""

    perceive: LocalAttentionPerceive
    update: NCAUpdate
    size: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    num_heads: int = eqx.field(static=True)
    qkv_size: int = eqx.field(static=True)
    projection_size: int = eqx.field(static=True)
    position_features: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    mask_ratio: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, *, size: int = 28, num_channels: int = 32, num_features: int = 64, num_heads: int = 4,
                 qkv_size: int = 128, projection_size: int = 32, position_features: int = 4,
                 hidden_units: int = 128, fire_rate: float = 0.5, mask_ratio: float = 0.5, steps: int = 32,
                 boundary: Boundary = "zero", key: PRNGKeyArray | None = None):
        self.size = check_int("size", size, minimum=3, maximum=MAX_SIZE)
        self.num_channels = check_int("num_channels", num_channels, minimum=1, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.mask_ratio = check_float("mask_ratio", mask_ratio, minimum=0.0, maximum=1.0)
        self.steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
        self.boundary = check_boundary(boundary)
        key = require_key(key)
        k_perceive, k_mlp = jax.random.split(key)
        self.num_spatial_dims = 2
        self.perceive = LocalAttentionPerceive(
            num_spatial_dims=2, num_channels=self.num_channels, num_features=num_features, num_heads=num_heads,
            qkv_size=qkv_size, projection_size=projection_size, max_position=self.size,
            position_features=position_features, boundary=self.boundary, key=k_perceive)
        p = self.perceive
        self.num_features, self.num_heads, self.qkv_size = p.num_features, p.num_heads, p.qkv_size
        self.projection_size, self.position_features = p.projection_size, p.position_features
        self.update = NCAUpdate(CellMLP([p.num_features, self.hidden_units, self.num_channels], key=k_mlp),
                                fire_rate=self.fire_rate)

    def config(self) -> dict[str, Any]:
        return {"size": self.size, "num_channels": self.num_channels, "num_features": self.num_features,
                "num_heads": self.num_heads, "qkv_size": self.qkv_size, "projection_size": self.projection_size,
                "position_features": self.position_features, "hidden_units": self.hidden_units,
                "fire_rate": self.fire_rate, "mask_ratio": self.mask_ratio, "steps": self.steps,
                "boundary": self.boundary}

    def working_bytes_per_cell(self) -> int:
        # the state, tokens, queries, the 3x3 windows of keys and values, features and hidden layer
        k = len(self.perceive.offsets)
        return 4 * (2 * self.num_channels + self.perceive.token_size + (1 + 2 * k) * self.qkv_size
                    + k * self.num_heads + self.num_features + self.hidden_units)

    # ------------------------------------------------------------------ states
    def digits(self, images: Any) -> Float[Array, "*B S S"]:
        """MNIST-style digits ``(28, 28)`` or ``(B, 28, 28)`` (uint8 0-255 or float 0-1) as
        float32 grey levels at the model's ``size`` (bilinear, antialiased when smaller)."""
        return resize_digits(as_grey(images), self.size)

    def masked_state(self, digits: Float[Array, "*B S S"], visible: Bool[Array, "*B S S"]) -> Float[Array, "*B S S C"]:
        """Fresh states: zeros, the last channel ``digits * visible`` (hidden pixels 0)."""
        digits = jnp.asarray(digits, jnp.float32)
        state = jnp.zeros(digits.shape + (self.num_channels,), jnp.float32)
        return state.at[..., -1].set(digits * jnp.asarray(visible, jnp.float32))

    def initial_state(self, images: Any, *, key: PRNGKeyArray | None = None) -> Float[Array, "*B S S C"]:
        """States for digits ``images`` (see :meth:`digits`) with a share ``mask_ratio`` of
        their pixels hidden, drawn from ``key`` (default ``PRNGKey(MASK_KEY)``)."""
        x = self.digits(images)
        key = jax.random.PRNGKey(MASK_KEY) if optional_key(key) is None else key
        return self.masked_state(x, visible_pixels(key, x.shape, self.mask_ratio))

    def _check_size(self, size) -> None:
        if size is not None and self.spatial_shape(size, self.size) != (self.size, self.size):
            raise StateError(f"attention_nca runs on its {self.size}x{self.size} grid (its positional embeddings "
                             f"are learned for it), got size {size!r}")

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """A digit drawn with Pillow's default font (no data needed; ``key`` picks which,
        default 3) with a share ``mask_ratio`` of its pixels hidden (the mask from ``key``,
        default ``PRNGKey(MASK_KEY)``); ``batch_size`` gives that many (random digits from
        ``key``, or 3s without one). ``size`` must be the model's ``size`` or None."""
        self._check_size(size)
        key = optional_key(key)
        k_digit, k_mask = (None, None) if key is None else jax.random.split(key)
        if batch_size is None:
            digit = 3 if key is None else int(jax.random.randint(k_digit, (), 0, 10))
            return self.initial_state(draw_digit(digit), key=k_mask)
        n = check_int("batch_size", batch_size, minimum=1, maximum=1_000_000)
        labels = np.full(n, 3) if key is None else np.asarray(jax.random.randint(k_digit, (n,), 0, 10))
        return self.initial_state(np.stack([draw_digit(int(d)) for d in labels]), key=k_mask)

    def cli_setup(self, *, size=None, key=None, image=None):
        """``(state, None)`` for ``cax-zoo run``: ``image``, a ``size`` x ``size`` picture of a
        digit (grey or RGB(A); dark on light is inverted to MNIST's white on black), with a
        share ``mask_ratio`` of its pixels hidden (the mask from ``key``, default
        ``PRNGKey(MASK_KEY)``); without one, :meth:`init_state`."""
        self._check_size(size)
        if image is None:
            return self.init_state(size, key=key), None
        x = to_grey(check_image(image, what="digit image"))
        if x.shape != (self.size, self.size):
            raise StateError(f"attention_nca inpaints {self.size}x{self.size} digits; the image is "
                             f"{x.shape[1]}x{x.shape[0]} pixels")
        if x.mean() > 0.5:
            x = 1.0 - x
        key = jax.random.PRNGKey(MASK_KEY) if optional_key(key) is None else key
        return self.masked_state(x, visible_pixels(key, x.shape, self.mask_ratio)), None

    def check_state(self, state) -> int:
        n = super().check_state(state)
        if tuple(state.shape[-3:-1]) != (self.size, self.size):
            raise StateError(f"attention_nca expects states of shape (..., {self.size}, {self.size}, "
                             f"{self.num_channels}), got {tuple(state.shape)}")
        return n

    # ------------------------------------------------------------------ reading out
    def reconstruction(self, state: Float[Array, "*B S S C"]) -> Float[Array, "*B S S"]:
        """The digit channel (the last), unclipped: the masked input in a fresh state, the
        reconstruction after a rollout."""
        return jnp.asarray(state)[..., -1]

    def render(self, state) -> np.ndarray:
        """The digit channel as grey levels, clipped to [0, 1]: ``(S, S, 3)`` uint8."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 3:
            raise StateError(f"render takes one unbatched state (S, S, C), got shape {s.shape}")
        grey = (np.clip(s[..., -1], 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)


@register("attention_nca/mnist_inpaint",
          description="Attention NCA trained to inpaint MNIST digits with 50% of their pixels hidden",
          tags=("neural", "2d", "attention", "inpainting", "mnist", "pretrained"),
          paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651)",
          recipe="recipes.attention_nca", evaluate=_evaluate, card=CARD)
def mnist_inpaint(**config) -> AttentionNCA:
    """The MNIST inpainting model's architecture (weights from weights/ or the Hub)."""
    return AttentionNCA(**config)
