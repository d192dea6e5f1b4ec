"""Growing neural cellular automata (Mordvintsev, Randazzo, Niklasson & Levin 2020,
Distill): a 16-channel NCA that grows an image from a single seed cell and, trained with
sample pools and damage, regenerates it.

State ``(H, W, 16)`` float32: RGBA (premultiplied colour; alpha > 0.1 marks mature cells)
and 12 hidden channels. Perception: identity and two Sobel filters per channel (48
features); update: a 128-unit ReLU MLP with a zero-initialised output layer, applied with
fire rate 0.5; a cell with no mature cell in its 3x3 neighbourhood before and after the
update is set to zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._boundary import Boundary, check_boundary
from .._blocks._conv import depthwise_conv, kernel_stack
from .._blocks._nca import CellMLP, alive_mask, stochastic_update
from .._errors import ConfigError, DataError, StateError
from .._grid import AbstractGridAutomaton
from .._registry import register

EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
LIZARD = "\U0001F98E"
ALPHA = 3


@register(
    "growing_nca",
    description="Growing neural CA: grows a target RGBA image from one seed cell and regenerates it after damage",
    paper="Mordvintsev, Randazzo, Niklasson & Levin 2020, Distill, 'Growing Neural Cellular Automata' "
          "(doi:10.23915/distill.00023)",
    tags=("neural", "2d", "morphogenesis"),
    recipe="recipes.growing_nca",
    evaluate=lambda model, **kw: evaluate(model, **kw),
)
class GrowingNCA(AbstractGridAutomaton):
    """Growing NCA. State ``(H, W, num_channels)`` float32, RGBA first; ``size`` is the
    default grid side (target + padding)."""

    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_threshold: float = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    size: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    mlp: CellMLP

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(self, *, num_channels: int = 16, hidden_units: int = 128, fire_rate: float = 0.5,
                 alive_threshold: float = 0.1, boundary: Boundary = "zero", size: int = 72,
                 key: PRNGKeyArray | None = None):
        for name, v, lo in (("num_channels", num_channels, 4), ("hidden_units", hidden_units, 1),
                            ("size", size, 3)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not 0.0 < float(fire_rate) <= 1.0:
            raise ConfigError(f"fire_rate must be in (0, 1], got {fire_rate!r}")
        self.num_channels, self.hidden_units = num_channels, hidden_units
        self.fire_rate, self.alive_threshold = float(fire_rate), float(alive_threshold)
        self.boundary = check_boundary(boundary)
        self.size = size
        self.num_spatial_dims = 2
        key = jax.random.PRNGKey(0) if key is None else key
        self.mlp = CellMLP([3 * num_channels, hidden_units, num_channels], key=key)

    def config(self) -> dict[str, Any]:
        return {"num_channels": self.num_channels, "hidden_units": self.hidden_units,
                "fire_rate": self.fire_rate, "alive_threshold": self.alive_threshold,
                "boundary": self.boundary, "size": self.size}

    def step(self, state: Float[Array, "H W C"], input=None, *, key: PRNGKeyArray | None = None):
        pre = alive_mask(state, ALPHA, self.alive_threshold, self.boundary, num_spatial_dims=2)
        kernels = jnp.asarray(kernel_stack(["identity", "sobel"], 2))
        delta = self.mlp(depthwise_conv(state, kernels, self.boundary))
        new = stochastic_update(state, delta, self.fire_rate, key)
        post = alive_mask(new, ALPHA, self.alive_threshold, self.boundary, num_spatial_dims=2)
        return new * (pre & post).astype(new.dtype)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None):
        """The single seed: every channel but RGB is 1 in the centre cell (``key`` unused)."""
        h, w = self.spatial_shape(size, self.size)
        state = jnp.zeros((h, w, self.num_channels), jnp.float32)
        return state.at[h // 2, w // 2, ALPHA:].set(1.0)

    def cli_setup(self, *, size=None, key=None, image=None):
        if image is not None:
            raise ConfigError("growing_nca grows from a seed and takes no --image")
        return self.init_state(size, key=key), None

    def damage_state(self, state: Float[Array, "*B H W C"]) -> Float[Array, "*B H W C"]:
        """The cut used by :func:`evaluate` and ``cax-zoo run --damage-at``: a disc of
        radius ``size / 5`` centred on the left of the middle is zeroed."""
        h = state.shape[-3]
        return damage(state, (h / 2, h / 2 - h / 8), h / 5)

    def render(self, state) -> np.ndarray:
        """RGBA over white: ``1 - alpha + rgb`` (colour is premultiplied), clipped."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 3:
            raise StateError(f"render takes one unbatched state (H, W, C), got shape {s.shape}")
        return (to_rgb(s) * 255 + 0.5).astype(np.uint8)


def to_rgb(state: Any) -> Any:
    """The paper's rendering: premultiplied RGB over white, in [0, 1]."""
    xp = jnp if isinstance(state, jax.Array) else np
    a = xp.clip(state[..., ALPHA : ALPHA + 1], 0.0, 1.0)
    return xp.clip(1.0 - a + state[..., :3], 0.0, 1.0)


def damage(state, centre: tuple[float, float], radius: float):
    """Zero a disc of cells (centre and radius in cells), as the regeneration experiments."""
    h, w = state.shape[-3:-1]
    y, x = np.mgrid[:h, :w]
    mask = ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) > radius**2
    return state * jnp.asarray(mask[..., None], state.dtype)


# ---------------------------------------------------------------------- targets
def _finish_target(rgba: np.ndarray, size: int, padding: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(rgba, "RGBA")
    bbox = im.getbbox()
    if bbox is None:
        raise DataError("the target image is fully transparent")
    im = im.crop(bbox)
    im.thumbnail((size, size), Image.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    x = np.asarray(canvas, np.float32) / 255.0
    x[..., :3] *= x[..., 3:]  # premultiplied alpha
    return np.pad(x, ((padding, padding), (padding, padding), (0, 0)))


def emoji_target(char: str = LIZARD, *, size: int = 40, padding: int = 16,
                 font: str | os.PathLike = EMOJI_FONT) -> np.ndarray:
    """An emoji rendered with Noto Color Emoji, resized to fit ``size`` and padded:
    ``(size + 2 padding, size + 2 padding, 4)`` float32 premultiplied RGBA."""
    from PIL import Image, ImageDraw, ImageFont

    if not Path(font).is_file():
        raise DataError(
            f"emoji font not found: {font}. Install it (Debian/Ubuntu: apt-get install "
            "fonts-noto-color-emoji) or pass --target PATH.png"
        )
    f = ImageFont.truetype(str(font), 109)  # the only size of the colour bitmaps
    left, top, right, bottom = f.getbbox(char)
    im = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((-left, -top), char, font=f, embedded_color=True)
    return _finish_target(np.asarray(im), size, padding)


def image_target(path: str | os.PathLike, *, size: int = 40, padding: int = 16) -> np.ndarray:
    """Any image file (RGBA, or RGB taken as opaque) as a growing-NCA target."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"target image not found: {path}")
    try:
        with Image.open(path) as im:
            rgba = np.asarray(im.convert("RGBA"))
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"cannot read target image {path}: {e}") from None
    return _finish_target(rgba, size, padding)


# ---------------------------------------------------------------------- evaluation
@eqx.filter_jit
def _grow(model, state, key, steps: int):
    return model.rollout(state, steps, key=key)


def evaluate(model: GrowingNCA, *, data=None, steps: int | None = None, target: Any = None,
             num_seeds: int = 8, seed: int = 0, target_size: int | None = None,
             padding: int | None = None, **_: Any) -> dict[str, Any]:
    """Grow ``num_seeds`` runs from the seed for ``steps`` (default 96) steps and measure
    the RGBA mean squared error to ``target`` (default: the lizard emoji, or the image
    file ``target``); then cut a disc of radius size/5 out of the left half of each, let it
    regrow another ``steps`` steps and measure again."""
    steps = 96 if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    pad = model.size * 2 // 9 if padding is None else padding  # 72 -> 16 (the paper's 40 + 2x16)
    size = model.size - 2 * pad if target_size is None else target_size
    if target is None:
        target = emoji_target(LIZARD, size=size, padding=pad)
    elif isinstance(target, (str, os.PathLike)):
        target = image_target(target, size=size, padding=pad)
    target = np.asarray(target, np.float32)
    if target.shape != (model.size, model.size, 4):
        raise DataError(f"target has shape {target.shape}, the model grows {model.size}x{model.size}x4")
    seed_state = model.init_state()
    batch = jnp.broadcast_to(seed_state, (num_seeds,) + seed_state.shape)
    key = jax.random.PRNGKey(seed)
    k1, k2 = jax.random.split(key)
    grown = model.rollout(batch, steps, key=k1)
    grow_loss = float(jnp.mean((grown[..., :4] - target) ** 2))
    damaged = model.damage_state(grown)
    damaged_loss = float(jnp.mean((damaged[..., :4] - target) ** 2))
    regrown = model.rollout(damaged, steps, key=k2)
    regrow_loss = float(jnp.mean((regrown[..., :4] - target) ** 2))
    return {"loss": grow_loss, "loss_after_damage": damaged_loss, "loss_after_regrow": regrow_loss,
            "steps": int(steps), "num_seeds": int(num_seeds)}


@register("growing_nca/lizard", description="Growing NCA trained to grow and regenerate the lizard emoji",
          tags=("neural", "2d", "morphogenesis", "pretrained"),
          paper="Mordvintsev et al. 2020, Distill, 'Growing Neural Cellular Automata'",
          recipe="recipes.growing_nca", evaluate=lambda model, **kw: evaluate(model, **kw))
def lizard(**config) -> GrowingNCA:
    """The lizard (U+1F98E) regenerating model's architecture (weights from weights/)."""
    return GrowingNCA(**config)
