"""One-dimensional CA: Wolfram's elementary rules and the general k-colour, radius-r family,
with ordinary or totalistic rule codes."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray

from .._boundary import Boundary, check_boundary
from .._blocks import _bitpack
from .._blocks._lookup import apply_table, pattern_index
from .._blocks._neighbourhood import neighbourhood_offsets, shifted_views
from .._errors import RuleError, StateError
from .._grid import AbstractGridAutomaton, palette_rgb
from .._registry import register


def rule_table(rule: int, num_colours: int, radius: int, totalistic: bool) -> np.ndarray:
    """The lookup table of a 1-D rule: entry ``i`` is the new colour for neighbourhood
    index ``i`` (read in base k, left cell most significant) or, if totalistic, for
    neighbourhood sum ``i``. Raises RuleError if ``rule`` is out of range."""
    if isinstance(rule, bool) or not isinstance(rule, (int, np.integer)):
        raise RuleError(f"rule must be an integer, got {rule!r}")
    if not isinstance(num_colours, (int, np.integer)) or num_colours < 2:
        raise RuleError(f"num_colours must be an integer >= 2, got {num_colours!r}")
    if not isinstance(radius, (int, np.integer)) or radius < 1:
        raise RuleError(f"radius must be an integer >= 1, got {radius!r}")
    width = 2 * radius + 1
    size = width * (num_colours - 1) + 1 if totalistic else num_colours**width
    if size > 1 << 24:
        raise RuleError(f"a k={num_colours}, r={radius} rule table would have {size} entries; too large")
    limit = num_colours**size
    if not 0 <= int(rule) < limit:
        kind = "totalistic code" if totalistic else "rule"
        raise RuleError(f"{kind} {rule} out of range for k={num_colours}, r={radius}: expected 0..{limit - 1}")
    digits, r = [], int(rule)
    for _ in range(size):
        r, d = divmod(r, num_colours)
        digits.append(d)
    return np.array(digits, dtype=np.int32)


@register("elementary", paper="Wolfram 1983, Statistical mechanics of cellular automata", tags=("classic", "1d"))
class Elementary(AbstractGridAutomaton):
    """A 1-D CA with k colours and radius r: Wolfram's 256 elementary rules by default.

    State: integer colours of shape ``(width, 1)`` (``uint8``).
    """

    rule: int = eqx.field(static=True)
    num_colours: int = eqx.field(static=True)
    radius: int = eqx.field(static=True)
    totalistic: bool = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True, default=1)
    num_channels: int = eqx.field(static=True, default=1)

    state_dtype = jnp.uint8

    def __init__(
        self,
        rule: int = 30,
        *,
        num_colours: int = 2,
        radius: int = 1,
        totalistic: bool = False,
        boundary: Boundary = "periodic",
    ):
        if isinstance(rule, str):
            try:
                rule = int(rule)
            except ValueError:
                raise RuleError(f"rule must be an integer, got {rule!r}") from None
        rule_table(rule, num_colours, radius, bool(totalistic))  # validates
        self.rule = int(rule)
        self.num_colours = int(num_colours)
        self.radius = int(radius)
        self.totalistic = bool(totalistic)
        self.boundary = check_boundary(boundary)

    @property
    def table(self) -> np.ndarray:
        return rule_table(self.rule, self.num_colours, self.radius, self.totalistic)

    def config(self) -> dict[str, Any]:
        return {"rule": self.rule, "num_colours": self.num_colours, "radius": self.radius,
                "totalistic": self.totalistic, "boundary": self.boundary}

    def check_state(self, state) -> int:
        """Shape and dtype as for every grid; a concrete state must also hold colours
        ``0..num_colours-1`` only (a larger value would silently index past the table)."""
        batch_dims = super().check_state(state)
        if not isinstance(state, jax.core.Tracer):
            values = np.asarray(state)
            if values.dtype != np.bool_ and (values.min() < 0 or values.max() >= self.num_colours):
                raise StateError(
                    f"Elementary with num_colours={self.num_colours} expects cell values in "
                    f"0..{self.num_colours - 1}, got values in {values.min()}..{values.max()}"
                )
        return batch_dims

    def step(self, state: Int[Array, "width 1"], input=None, *, key=None) -> Int[Array, "width 1"]:
        cells = state[:, 0]
        offsets = neighbourhood_offsets("moore", self.radius, 1, include_centre=True)
        if self.totalistic:
            views = shifted_views(cells.astype(jnp.int32), offsets, self.boundary, num_spatial_dims=1)
            index = sum(views[1:], views[0])
        else:
            index = pattern_index(cells, offsets, self.num_colours, self.boundary, num_spatial_dims=1)
        table = jnp.asarray(self.table, jnp.int32)
        return apply_table(table, index).astype(state.dtype)[:, None]

    def init_state(self, size: int | tuple[int] | None = None, *, key: PRNGKeyArray | None = None):
        """A single cell of colour 1 in the middle (``key=None``), or uniform random colours."""
        (width,) = self.spatial_shape(size, 256)
        if key is None:
            return jnp.zeros((width, 1), self.state_dtype).at[width // 2, 0].set(1)
        return jax.random.randint(key, (width, 1), 0, self.num_colours).astype(self.state_dtype)

    def render(self, state) -> np.ndarray:
        return palette_rgb(np.asarray(state)[None, :, 0])

    # fast path: k=2 rollouts run bit-packed (cax_zoo/_blocks/_bitpack.py) when the rule's
    # logic is small enough to beat the lookup table; reflect/edge use the reference step
    @property
    def halo(self) -> int:
        """Neighbourhood radius: cells a sharded rollout exchanges per step."""
        return self.radius

    def _packed_logic(self):
        if self.num_colours != 2 or self.boundary not in ("periodic", "zero"):
            return None
        if not self.totalistic and self.radius > 6:
            return None
        logic = _bitpack.elementary_logic(self.table, self.radius, self.totalistic)
        if _bitpack.logic_size(logic) > 64 * (2 * self.radius + 1):
            return None
        return logic

    def encode_state(self, state):
        if self._packed_logic() is None:
            return state
        return _bitpack.PackedGrid(_bitpack.pack(state[..., 0]), state.shape[-2])

    def encoded_step(self, encoded, input=None, *, key=None):
        if not isinstance(encoded, _bitpack.PackedGrid):
            return self.step(encoded, input, key=key)
        words = _bitpack.elementary_step_packed(
            encoded.words, encoded.width, self._packed_logic(), self.radius, self.totalistic, self.boundary
        )
        return _bitpack.PackedGrid(words, encoded.width)

    def decode_state(self, encoded):
        if not isinstance(encoded, _bitpack.PackedGrid):
            return encoded
        return _bitpack.unpack(encoded.words, encoded.width, self.state_dtype)[..., None]

    def render_trajectory(self, trajectory) -> list[np.ndarray]:
        """The space-time diagram: time runs down, one row per sampled state."""
        return [palette_rgb(np.asarray(trajectory)[..., 0])]
