"""Writing rendered frames: PNG stills and animated GIFs (pillow), atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ._atomic import atomic_write
from ._errors import ConfigError, StateError

MAX_SIZE = 2048  # enlarging stops before the longer side passes this


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise StateError(f"expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    return image


def upscale(image: np.ndarray, min_size: int = 256, max_size: int = MAX_SIZE) -> np.ndarray:
    """Nearest-neighbour enlarge small images by an integer factor so cells stay visible:
    the shorter side reaches ``min_size`` (a 1-D space-time diagram, 101 x 200 cells, is
    enlarged as a 64 x 64 grid is), as long as the longer side stays within ``max_size``."""
    h, w = image.shape[:2]
    factor = max(1, min(min_size // max(1, min(h, w)), max_size // max(1, h, w)))
    if factor == 1:
        return image
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def write_png(path: str | os.PathLike, image: np.ndarray, *, min_size: int = 256) -> Path:
    """Save one RGB image as PNG."""
    path = Path(path)
    picture = Image.fromarray(upscale(_as_rgb(image), min_size))
    with atomic_write(path) as tmp:
        picture.save(tmp, format="PNG")
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
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
        raise ConfigError(f"fps must be a number in (0, 1000], got {fps!r}")
    path = Path(path)
    images = [Image.fromarray(upscale(_as_rgb(f), min_size)) for f in frames]
    duration = max(20, int(round(1000.0 / fps)))
    with atomic_write(path) as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=loop,
            optimize=False, disposal=1,
        )
    return path
