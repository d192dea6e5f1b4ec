"""Grid automata: channel-last states ``(*spatial, C)``, validation and default rendering."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._automaton import AbstractAutomaton
from ._errors import StateError


class AbstractGridAutomaton(AbstractAutomaton):
    """An automaton whose state is one channel-last array of shape ``(*spatial, C)``.

    Subclasses provide ``num_spatial_dims`` and ``num_channels`` and say which dtypes
    they accept through ``state_kind``: ``"discrete"`` (bool or integer; stored as
    ``state_dtype``) or ``"continuous"`` (floating; cast to ``state_dtype``).
    """

    num_spatial_dims: eqx.AbstractVar[int]
    num_channels: eqx.AbstractVar[int]

    state_kind = "discrete"
    state_dtype = jnp.int8

    @property
    def name(self) -> str:
        return type(self).__name__

    def check_state(self, state) -> int:
        if not hasattr(state, "shape") or not hasattr(state, "dtype"):
            raise StateError(f"{self.name} expects an array state, got {type(state).__name__}")
        d, c = self.num_spatial_dims, self.num_channels
        expected = f"(*spatial[{d}], {c}) or (batch, *spatial[{d}], {c})"
        if state.ndim not in (d + 1, d + 2):
            raise StateError(
                f"{self.name} expects a state of shape {expected}, got shape {tuple(state.shape)}"
            )
        if state.shape[-1] != c:
            raise StateError(
                f"{self.name} expects {c} channel(s) in the last axis, got shape "
                f"{tuple(state.shape)} (states are channel-last: {expected})"
            )
        if any(n == 0 for n in state.shape):
            raise StateError(f"{self.name} got an empty state of shape {tuple(state.shape)}")
        kind = np.dtype(state.dtype).kind
        if self.state_kind == "discrete" and kind not in "biu":
            raise StateError(
                f"{self.name} is a discrete automaton and expects a bool or integer state, "
                f"got dtype {np.dtype(state.dtype).name}"
            )
        if self.state_kind == "continuous" and kind not in "fbiu":
            raise StateError(
                f"{self.name} expects a real-valued state, got dtype {np.dtype(state.dtype).name}"
            )
        return state.ndim - (d + 1)

    def prepare_state(self, state):
        return jnp.asarray(state, dtype=self.state_dtype)

    def spatial_shape(self, size: tuple[int, ...] | int | None, default: int) -> tuple[int, ...]:
        """Normalise a ``size`` argument to one extent per spatial axis."""
        if size is None:
            size = default
        if isinstance(size, (int, np.integer)):
            size = (int(size),) * self.num_spatial_dims
        size = tuple(int(s) for s in size)
        if len(size) != self.num_spatial_dims or any(s < 1 for s in size):
            raise StateError(
                f"{self.name} needs {self.num_spatial_dims} positive spatial extent(s), got {size}"
            )
        return size


def grey_to_rgb(values: Any, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Map an array of scalars in ``[lo, hi]`` to uint8 grey RGB ``(..., 3)``."""
    v = np.clip((np.asarray(values, dtype=np.float32) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    g = (v * 255.0 + 0.5).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def as_image(state: Any, num_spatial_dims: int) -> np.ndarray:
    """Reduce a single grid state to a 2-D array of cells for drawing: 1-D grids become one
    row; 3-D and higher grids are max-projected along their leading axes."""
    x = np.asarray(jax.device_get(state))
    if num_spatial_dims == 1:
        return x[None]
    while x.ndim > 3:
        x = x.max(axis=0)
    return x


PALETTE = np.array(
    [
        [0, 0, 0],
        [255, 255, 255],
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ],
    dtype=np.uint8,
)
"""Colours for discrete states: 0 black, 1 white, then distinct hues (cycled past 12)."""


def palette_rgb(values: Any) -> np.ndarray:
    """Integer cell values -> uint8 RGB via :data:`PALETTE`."""
    v = np.asarray(values).astype(np.int64)
    return PALETTE[np.mod(v, len(PALETTE))]
