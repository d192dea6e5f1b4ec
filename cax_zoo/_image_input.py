"""Images as input (``cax-zoo run --image``, a growing-NCA target, a digit to classify):
read with bounds, and reduced to what a model takes without losing the picture.

- :func:`read_image` opens a file with Pillow and checks its size from the header, before
  any pixel is decoded: a decompression bomb (a small file announcing a huge image), an
  image smaller than ``min_side`` pixels on a side (a 1x1 or 1x100000 image holds no
  picture) or more than ``max_pixels`` is a one-line :class:`~cax_zoo.StateError`. Every
  mode (palette, grey with alpha, 16-bit, CMYK, ...) comes back as RGBA ``uint8``.
- :func:`check_image` applies the same bounds to an array already in memory.
- :func:`to_grey` flattens RGBA onto the background that contrasts with the opaque
  pixels, so a white digit on a transparent background stays a digit (compositing it onto
  white, as a viewer would, leaves a blank image).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from jaxtyping import Float, UInt8

from ._errors import StateError

MAX_PIXELS = 1 << 24
"""Largest image accepted (16.7 million pixels, e.g. 4096 x 4096)."""
MIN_SIDE = 8
"""Shortest side accepted: a smaller image holds no recognisable picture."""
MAX_ASPECT = 64
"""Largest ratio of the long side to the short one."""
MAX_FILE_BYTES = 1 << 28


def check_image_size(width: int, height: int, *, what: str = "image", min_side: int = MIN_SIDE,
                     max_pixels: int = MAX_PIXELS, max_aspect: float = MAX_ASPECT,
                     error: type[Exception] = StateError) -> None:
    """Raise ``error`` unless a ``width`` x ``height`` image is within the bounds."""
    if min(width, height) < min_side:
        raise error(f"{what} is {width}x{height} pixels; each side must be at least {min_side}")
    if width * height > max_pixels:
        raise error(f"{what} is {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
    if max(width, height) > max_aspect * min(width, height):
        raise error(f"{what} is {width}x{height} pixels, more than {max_aspect}:1 long")


def read_image(path: str | os.PathLike, *, min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS,
               max_aspect: float = MAX_ASPECT, error: type[Exception] = StateError) -> UInt8[np.ndarray, "H W 4"]:
    """An image file as RGBA ``uint8`` ``(H, W, 4)``; images without alpha are opaque.

    The size announced by the file's header is checked before decoding (see
    :func:`check_image_size`); the first frame of an animation is used. Files that are
    missing, not regular files, not images or corrupt raise a one-line ``error``
    (StateError by default; a training target raises DataError).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    what = f"image {path}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{what} not found") from None
    except OSError as e:
        raise error(f"cannot read {what}: {e.strerror or e}") from None
    if not path.is_file():
        raise error(f"cannot read {what}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise error(f"{what} is {info.st_size} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_image_size(im.width, im.height, what=what, min_side=min_side,
                                 max_pixels=max_pixels, max_aspect=max_aspect, error=error)
                im.seek(0)
                return _to_rgba(im)
    except error:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise error(f"{what} is too large to decode safely: {e}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        # Pillow reports truncated and malformed files with any of these
        raise error(f"cannot read {what}: {str(e)[:200]}") from None


def _to_rgba(im) -> np.ndarray:
    """Any Pillow mode as RGBA uint8 (16- and 32-bit grey scaled down, not clipped)."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        x = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith("I;16") or x.max(initial=0) > 255 else 255.0
        grey = np.clip(np.nan_to_num(x) / hi * 255.0, 0, 255).astype(np.uint8)
        return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    return np.asarray(im.convert("RGBA") if has_alpha else im.convert("RGB").convert("RGBA"))


def check_image(image: Any, *, what: str = "image", min_side: int = MIN_SIDE, max_pixels: int = MAX_PIXELS,
                max_aspect: float = MAX_ASPECT) -> np.ndarray:
    """An image array ``(H, W)`` or ``(H, W, C)`` with C in 1-4, of integers 0-255 (returned
    as uint8) or finite floats in [0, 1], within the size bounds; as a NumPy array."""
    x = np.asarray(image)
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] not in (1, 2, 3, 4)):
        raise StateError(f"{what} must have shape (H, W) or (H, W, C) with C in 1-4, got {x.shape}")
    check_image_size(x.shape[1], x.shape[0], what=what, min_side=min_side, max_pixels=max_pixels,
                     max_aspect=max_aspect)
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * 255
    if x.dtype.kind in "iu":
        if x.min() < 0 or x.max() > 255:
            raise StateError(f"an integer {what} must hold values 0-255, got {x.min()}..{x.max()}")
        return x.astype(np.uint8)
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise StateError(f"{what} holds NaN or infinite values")
        if x.min() < 0.0 or x.max() > 1.0:
            raise StateError(f"a float {what} must lie in [0, 1] (use uint8 for 0-255)")
        return x
    raise StateError(f"{what} must be uint8 (0-255) or float (0-1), got dtype {x.dtype}")


def to_grey(image: Any) -> Float[np.ndarray, "H W"]:
    """An image (see :func:`check_image`, any channel count) as grey levels in [0, 1].

    Alpha is composited onto the background that contrasts with the opaque pixels: onto
    black if what is drawn is light (a white digit on a transparent canvas), onto white if
    it is dark. An image with no alpha, or entirely opaque, is just converted to grey.
    """
    x = np.asarray(image)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.ndim == 2:
        return x
    channels = x.shape[-1]
    if channels in (2, 4):
        colour, alpha = x[..., :-1], x[..., -1]
    else:
        colour, alpha = x, None
    grey = colour.mean(-1) if colour.shape[-1] == 3 else colour[..., 0]
    if alpha is None or alpha.min() >= 1.0:
        return grey
    weight = alpha.sum()
    ink = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
    background = 0.0 if ink > 0.5 else 1.0
    return grey * alpha + background * (1.0 - alpha)
