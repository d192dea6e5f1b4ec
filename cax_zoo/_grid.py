"""Grid automata: channel-last states ``(*spatial, C)``, validation and default rendering."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._automaton import AbstractAutomaton
from ._errors import StateError
from ._resources import array_bytes, check_memory
from ._validation import check_size

WORKING_COPIES = 4
"""Copies of a state a step holds at once (the state, the next state, neighbour views);
the default memory estimate of :meth:`AbstractGridAutomaton.working_bytes_per_cell`."""


class AbstractGridAutomaton(AbstractAutomaton):
    """An automaton whose state is one channel-last array of shape ``(*spatial, C)``.

    Subclasses provide ``num_spatial_dims`` and ``num_channels`` and say which dtypes
    they accept through ``state_kind``: ``"discrete"`` (bool or integer; stored as
    ``state_dtype``) or ``"continuous"`` (floating; cast to ``state_dtype``).

    A concrete (not traced) state is also checked for its values: a continuous state must
    be finite (NaN and inf are refused), and every state must lie in
    :meth:`value_range` (by default the range of ``state_dtype`` for discrete states, so
    that no value wraps silently when it is cast). Traced states (under ``jit``/``grad``)
    are checked for shape and dtype only.
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
        if not isinstance(state, jax.core.Tracer):
            self._check_values(state)
        return state.ndim - (d + 1)

    def value_range(self) -> tuple[float, float] | None:
        """The closed range a concrete state's values must lie in, or None for any value.

        Default: the range of ``state_dtype`` for discrete states (a larger value would
        wrap when cast), none for continuous ones (which must only be finite).
        """
        if self.state_kind == "discrete" and np.dtype(self.state_dtype).kind in "iu":
            info = np.iinfo(self.state_dtype)
            return int(info.min), int(info.max)
        return None

    def _check_values(self, state) -> None:
        kind = np.dtype(state.dtype).kind
        if kind == "b":
            return
        lo_hi = self.value_range()
        if kind in "fc":
            if not bool(_all_finite(state)):
                raise StateError(f"{self.name} got a state holding NaN or infinite values")
        if lo_hi is None:
            return
        lo, hi = lo_hi
        vmin, vmax = _min_max(state)
        if vmin < lo or vmax > hi:
            raise StateError(
                f"{self.name} expects cell values in {_fmt(lo)}..{_fmt(hi)}, got values in "
                f"{_fmt(vmin)}..{_fmt(vmax)}"
            )

    def working_bytes_per_cell(self) -> int:
        """Estimated bytes per cell while a step runs (for the memory check of
        :meth:`spatial_shape`): :data:`WORKING_COPIES` copies of the state, each value
        at least 4 bytes. Families with larger intermediates (a hidden layer, FFTs) raise
        it."""
        return WORKING_COPIES * self.num_channels * max(4, np.dtype(self.state_dtype).itemsize)

    def prepare_state(self, state):
        return jnp.asarray(state, dtype=self.state_dtype)

    def spatial_shape(self, size: tuple[int, ...] | int | None, default: int, *,
                      batch: int = 1) -> tuple[int, ...]:
        """Normalise a ``size`` argument to one extent per spatial axis, refusing a grid
        (of ``batch`` states) whose estimated working memory the device cannot hold."""
        if size is None:
            size = default
        size = check_size(f"{self.name} size", size, num_dims=self.num_spatial_dims, error=StateError)
        cells = array_bytes(size, 1) * int(batch)
        shape = "x".join(map(str, size))
        check_memory(cells * self.working_bytes_per_cell(),
                     f"a {shape} {self.name} grid" + (f" (batch {batch})" if batch != 1 else ""))
        return size


def _is_host_array(x) -> bool:
    if isinstance(x, np.ndarray):
        return True
    try:
        return all(d.platform == "cpu" for d in x.devices())
    except AttributeError:
        return True


def _all_finite(x) -> bool:
    if _is_host_array(x):
        return bool(np.isfinite(np.asarray(x)).all())
    return bool(jnp.isfinite(x).all())


def _min_max(x) -> tuple[float, float]:
    if _is_host_array(x):
        a = np.asarray(x)
        return a.min().item(), a.max().item()
    return jnp.min(x).item(), jnp.max(x).item()


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


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
