"""Writing rendered frames: PNG stills and animated GIFs (pillow)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ._errors import StateError


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise StateError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    return image


def upscale(image: np.ndarray, min_size: int = 256) -> np.ndarray:
    """Nearest-neighbour enlarge small images by an integer factor so cells stay visible."""
    h, w = image.shape[:2]
    factor = max(1, min_size // max(h, w))
    if factor == 1:
        return image
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def write_png(path: str | os.PathLike, image: np.ndarray, *, min_size: int = 256) -> Path:
    """Save one RGB image as PNG."""
    path = Path(path)
    Image.fromarray(upscale(_as_rgb(image), min_size)).save(path, format="PNG")
    return path


def write_gif(
    path: str | os.PathLike,
    frames: Sequence[np.ndarray],
    *,
    fps: float = 20.0,
    min_size: int = 256,
    loop: int = 0,
) -> Path:
    """Save RGB frames as an animated GIF (looping forever by default)."""
    if len(frames) == 0:
        raise StateError("write_gif needs at least one frame")
    path = Path(path)
    images = [Image.fromarray(upscale(_as_rgb(f), min_size)) for f in frames]
    duration = max(20, int(round(1000.0 / fps)))
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=loop,
        optimize=False, disposal=1,
    )
    return path
