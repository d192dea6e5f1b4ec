"""Digit images: grey levels of MNIST-style digits, any image made into one, drawn digits."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import StateError
from ..._image_input import check_image, to_grey

SIDE = 28


def as_grey(images: Any) -> np.ndarray:
    """Digits ``(28, 28)`` or ``(B, 28, 28)``, uint8 0-255 or float 0-1, as float32 0-1."""
    x = np.asarray(images)
    if x.ndim not in (2, 3) or x.shape[-2:] != (SIDE, SIDE):
        raise StateError(f"expected digits of shape (28, 28) or (B, 28, 28), got shape {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if x.dtype.kind not in "fiu" or x.dtype.kind == "b":
        raise StateError(f"digits must be uint8 (0-255) or float (0-1), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
        raise StateError("float digits must lie in [0, 1] (use uint8 for 0-255 grey levels)")
    return x


def image_to_digit(image: Any) -> np.ndarray:
    """Any grey or RGB(A) uint8 image -> a 28x28 uint8 MNIST-style digit (white on black):
    a dark-on-light image is inverted, then it is resized to fit 20x20 and centred."""
    from PIL import Image

    # bounded size (no 1x1 or 1x100000 images); alpha composited so the digit stays legible
    x = to_grey(check_image(image, what="digit image"))
    if x.mean() > 0.5:
        x = 1.0 - x
    if x.shape == (SIDE, SIDE):
        return (x * 255 + 0.5).astype(np.uint8)
    ys, xs = np.nonzero(x > 0.1)
    if len(ys):
        x = x[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = x.shape
    scale = 20.0 / max(h, w)
    im = Image.fromarray((x * 255).astype(np.uint8)).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    out = np.zeros((SIDE, SIDE), np.uint8)
    a = np.asarray(im)
    y0, x0 = (SIDE - a.shape[0]) // 2, (SIDE - a.shape[1]) // 2
    out[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    return out


def draw_digit(digit: int) -> np.ndarray:
    """A 28x28 uint8 digit drawn with Pillow's default font (white on black)."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (64, 64), 0)
    try:
        font = ImageFont.load_default(size=48)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    ImageDraw.Draw(im).text((32, 32), str(int(digit) % 10), fill=255, font=font, anchor="mm")
    return image_to_digit(np.asarray(im))
