"""One-dimensional CA: Wolfram's elementary rules and the general k-colour, radius-r family,
with ordinary or totalistic rule codes."""

from __future__ import annotations

import functools
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
from .._keys import check_key
from .._grid import AbstractGridAutomaton, palette_rgb
from .._registry import register
from .._validation import check_bool

MAX_COLOURS = 256  # colours are stored as uint8
MAX_RADIUS = 64
MAX_RULE_DIGITS = 4000  # Python refuses int() of strings beyond 4300 digits
MAX_TABLE = 1 << 16  # rule-table entries (k**(2r+1), or (2r+1)(k-1)+1 if totalistic)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def rule_table(rule: int, num_colours: int, radius: int, totalistic: bool) -> np.ndarray:
    """The lookup table of a 1-D rule: entry ``i`` is the new colour for neighbourhood
    index ``i`` (read in base k, left cell most significant) or, if totalistic, for
    neighbourhood sum ``i``. Raises RuleError if ``rule`` is out of range."""
    if isinstance(rule, bool) or not isinstance(rule, (int, np.integer)):
        raise RuleError(f"rule must be an integer, got {_short(rule)}")
    if isinstance(num_colours, bool) or not isinstance(num_colours, (int, np.integer)) or not 2 <= num_colours <= MAX_COLOURS:
        raise RuleError(f"num_colours must be an integer in 2..{MAX_COLOURS}, got {_short(num_colours)}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or not 1 <= radius <= MAX_RADIUS:
        raise RuleError(f"radius must be an integer in 1..{MAX_RADIUS}, got {_short(radius)}")
    width = 2 * radius + 1
    size = width * (num_colours - 1) + 1 if totalistic else num_colours**width
    if size > MAX_TABLE:
        raise RuleError(f"a k={num_colours}, r={radius} rule table would have {size} entries; "
                        f"the limit is {MAX_TABLE}")
    rule = int(rule)
    if rule < 0 or rule.bit_length() > size * int(num_colours - 1).bit_length() or rule >= num_colours**size:
        kind = "totalistic code" if totalistic else "rule"
        raise RuleError(f"{kind} {_short_int(rule)} out of range for k={num_colours}, r={radius}: "
                        f"expected 0..{num_colours}**{size}-1")
    return _digits(rule, int(num_colours), size).copy()


@functools.lru_cache(maxsize=64)
def _digits(n: int, base: int, count: int) -> np.ndarray:
    """The ``count`` lowest base-``base`` digits of ``n``, least significant first
    (divide and conquer: linear loops over a big integer would be quadratic)."""
    if count <= 64:
        out = []
        for _ in range(count):
            n, d = divmod(n, base)
            out.append(d)
        return np.array(out, dtype=np.int32)
    half = count // 2
    high, low = divmod(n, base**half)
    return np.concatenate([_digits(low, base, half), _digits(high, base, count - half)])


def _short_int(n: int) -> str:
    return str(n) if n.bit_length() <= 200 else f"of {n.bit_length()} bits"


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
            if not (rule.strip().isascii() and rule.strip().isdigit()) or len(rule) > MAX_RULE_DIGITS:
                raise RuleError(f"rule must be an integer, got {_short(rule)}")
            rule = int(rule)
        totalistic = check_bool("totalistic", totalistic)
        rule_table(rule, num_colours, radius, totalistic)  # validates rule, num_colours, radius
        self.rule = int(rule)
        self.num_colours = int(num_colours)
        self.radius = int(radius)
        self.totalistic = totalistic
        self.boundary = check_boundary(boundary)

    @property
    def table(self) -> np.ndarray:
        return rule_table(self.rule, self.num_colours, self.radius, self.totalistic)

    def config(self) -> dict[str, Any]:
        return {"rule": self.rule, "num_colours": self.num_colours, "radius": self.radius,
                "totalistic": self.totalistic, "boundary": self.boundary}

    def value_range(self) -> tuple[int, int]:
        """Colours ``0..num_colours-1`` only (a larger value would index past the table)."""
        return 0, self.num_colours - 1

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
        if key is not None:
            check_key(key, error=StateError)
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
