"""Target images of the growing NCA (an emoji or an image file, premultiplied RGBA), the
target as a release ships it (``target.png``, so that evaluating and fine-tuning need no
emoji font) and the disc-shaped damage of the regeneration experiments."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._errors import DataError

EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
LIZARD = "\U0001F98E"
TARGET_FILE = "target.png"
"""A release's target image: straight-alpha RGBA, the grid it was trained on (padding
included), with how it was made in the PNG text chunk ``cax_zoo_target`` (JSON)."""
_TARGET_KEY = "cax_zoo_target"
MAX_TARGET_BYTES = 1 << 24


def damage(state, centre: tuple[float, float], radius: float):
    """Zero a disc of cells of ``state`` ``(*B, H, W, C)`` (centre and radius in cells)."""
    h, w = state.shape[-3:-1]
    y, x = np.mgrid[:h, :w]
    mask = ((y - centre[0]) ** 2 + (x - centre[1]) ** 2) > radius**2
    return state * jnp.asarray(mask[..., None], state.dtype)


def regeneration_cut(state):
    """The cut of the regeneration experiments (``damage_state`` of the growing and the
    diffusing NCA): a disc of radius ``H / 5``, centred ``H / 8`` left of the middle of
    ``state`` ``(*B, H, W, C)``, zeroed."""
    h = state.shape[-3]
    return damage(state, (h / 2, h / 2 - h / 8), h / 5)


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
                 font: str | os.PathLike | None = None) -> np.ndarray:
    """An emoji rendered with Noto Color Emoji (``font``, default :data:`EMOJI_FONT`),
    resized to fit ``size`` and padded: ``(size + 2 padding, size + 2 padding, 4)`` float32
    premultiplied RGBA. A missing or unreadable font is a one-line DataError."""
    from PIL import Image, ImageDraw, ImageFont

    font = EMOJI_FONT if font is None else font
    hint = "Install it (Debian/Ubuntu: apt-get install fonts-noto-color-emoji) or pass --target PATH.png"
    if not Path(font).is_file():
        raise DataError(f"emoji font not found: {font}. {hint}")
    if not isinstance(char, str) or not char:
        raise DataError(f"the emoji must be a non-empty string, got {char!r}")
    try:
        with open(font, "rb") as fh:  # a file, not a name: Pillow would look a broken file's name up elsewhere
            f = ImageFont.truetype(fh, 109)  # the only size of the colour bitmaps
        left, top, right, bottom = f.getbbox(char)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the emoji font {font} ({str(e).strip() or type(e).__name__}). {hint}") from None
    if right <= left or bottom <= top:
        raise DataError(f"the font {font} has no glyph for {char!r}")
    im = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((-left, -top), char, font=f, embedded_color=True)
    return _finish_target(np.asarray(im), size, padding)


def image_target(path: str | os.PathLike, *, size: int = 40, padding: int = 16) -> np.ndarray:
    """Any image file (RGBA, or RGB taken as opaque) as a growing-NCA target."""
    from ..._image_input import read_image  # bounded: no decompression bombs, no 1x1 targets

    return _finish_target(read_image(path, error=DataError), size, padding)


def target_png(target: Any, **about: Any) -> bytes:
    """``target`` ``(H, W, 4)`` (float premultiplied RGBA, as :func:`emoji_target` makes it)
    as PNG bytes: straight-alpha RGBA 8-bit, with ``about`` (JSON: what it was made from,
    ``target_size``, ``padding``) in a text chunk. :func:`read_target_png` gives back the
    same float32 array, bit for bit, for a target made from 8-bit colours."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    x = np.asarray(target, np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise DataError(f"a target is (H, W, 4) RGBA, got shape {x.shape}")
    alpha = np.clip(x[..., 3:], 0.0, 1.0)
    straight = np.where(alpha > 0, x[..., :3] / np.where(alpha > 0, alpha, 1.0), 0.0)
    rgba = np.concatenate([straight, alpha], -1)
    pixels = np.clip(np.rint(rgba * 255.0), 0, 255).astype(np.uint8)
    info = PngInfo()
    info.add_text(_TARGET_KEY, json.dumps(about, sort_keys=True))
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def read_target_png(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """A target written by :func:`target_png`: ``(H, W, 4)`` float32 premultiplied RGBA
    and what its text chunk says it was made from (``{}`` for any other RGBA PNG). A
    missing or broken file is a one-line DataError."""
    from PIL import Image

    from ..._data._files import read_bytes
    from ..._validation import parse_json

    raw = read_bytes(path, max_bytes=MAX_TARGET_BYTES, what="target image")
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format != "PNG":
                raise DataError(f"target image {path} is not a PNG")
            im.load()
            text = im.info.get(_TARGET_KEY)
            pixels = np.asarray(im.convert("RGBA"))
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - a broken file, whatever Pillow raises
        raise DataError(f"target image {path} cannot be read: {str(e).strip() or type(e).__name__}") from None
    about = parse_json(text, what=f"target image {path} (text chunk {_TARGET_KEY})", error=DataError) \
        if text is not None else {}
    if not isinstance(about, dict):
        raise DataError(f"target image {path}: its {_TARGET_KEY} text chunk is not a JSON object")
    x = pixels.astype(np.float32) / 255.0
    x[..., :3] *= x[..., 3:]  # premultiplied alpha, as _finish_target computes it
    return x, about


def emoji_about(char: str, *, size: int, padding: int) -> dict[str, Any]:
    """What :func:`target_png` records of an emoji target (and what :func:`released_target` matches)."""
    return {"emoji": char, "target_size": int(size), "padding": int(padding)}


def released_target(folder: str | os.PathLike | None, *, char: str = LIZARD, size: int, padding: int) -> np.ndarray | None:
    """The target that a release folder ships (``folder/target.png``) if it is the emoji
    ``char`` at ``size`` and ``padding``, else None (no folder, no file, another target).
    This is how evaluation and fine-tuning run without the emoji font."""
    if folder is None:
        return None
    path = Path(folder) / TARGET_FILE
    if not path.is_file():
        return None
    x, about = read_target_png(path)
    wanted = emoji_about(char, size=size, padding=padding)
    if any(about.get(k) != v for k, v in wanted.items()) or x.shape[:2] != (size + 2 * padding,) * 2:
        return None
    return x
