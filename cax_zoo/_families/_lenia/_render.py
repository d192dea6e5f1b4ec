"""Lenia's colour ramp: one channel on a viridis-like ramp, several as RGB."""

from __future__ import annotations

from typing import Any

import numpy as np


_RAMP = np.array([  # viridis, sampled at 0, 1/8, ..., 1
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], np.float32)


def colour_ramp(values: Any) -> np.ndarray:
    """Scalars in [0, 1] -> uint8 RGB on a viridis-like ramp (piecewise-linear)."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float32)), 0.0, 1.0) * (len(_RAMP) - 1)
    lo = np.floor(v).astype(np.int64).clip(0, len(_RAMP) - 2)
    t = (v - lo)[..., None]
    rgb = _RAMP[lo] * (1 - t) + _RAMP[lo + 1] * t
    return (rgb + 0.5).astype(np.uint8)


def render_channels(img: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` in [0, 1] -> uint8 RGB (ramp for one channel, else channels as RGB)."""
    x = np.asarray(img, np.float32)
    c = x.shape[-1]
    if c == 1:
        return colour_ramp(x[..., 0])
    rgb = np.zeros(x.shape[:-1] + (3,), np.float32)
    rgb[..., : min(c, 3)] = x[..., :3]
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
