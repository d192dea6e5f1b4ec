"""Target images of the growing NCA (an emoji or an image file, premultiplied RGBA) and the
disc-shaped damage of the regeneration experiments."""

from __future__ import annotations

import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ..._errors import DataError

EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
LIZARD = "\U0001F98E"


def damage(state, centre: tuple[float, float], radius: float):
    """Zero a disc of cells of ``state`` ``(*B, H, W, C)`` (centre and radius in cells)."""
    h, w = state.shape[-3:-1]
    y, x = np.mgrid[:h, :w]
    mask = ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) > radius**2
    return state * jnp.asarray(mask[..., None], state.dtype)


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
    from ..._image_input import read_image  # bounded: no decompression bombs, no 1x1 targets

    return _finish_target(read_image(path, error=DataError), size, padding)
