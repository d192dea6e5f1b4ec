"""Life-like CA: any outer-totalistic birth/survival rule on the Moore neighbourhood, in B/S
notation (Conway's B3/S23 by default), in any number of dimensions."""

from __future__ import annotations

import re
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray, UInt8

from .._boundary import Boundary, check_boundary
from .._blocks import _bitpack
from .._blocks._neighbourhood import neighbour_sum
from .._errors import RuleError, StateError
from .._grid import AbstractGridAutomaton, as_image, palette_rgb
from .._registry import register
from .._keys import check_key
from .._validation import check_float, check_int

MAX_DIMS = 6  # 3**6 - 1 = 728 neighbours; the count table and a 3**6-cell grid still fit
MAX_RULE_LENGTH = 4096  # a 6-D rule listing every count is about 3,000 characters


def _clip(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

PRESETS: dict[str, str] = {
    "conway": "B3/S23",
    "life": "B3/S23",
    "highlife": "B36/S23",
    "seeds": "B2/S",
    "day_and_night": "B3678/S34678",
    "life_without_death": "B3/S012345678",
    "maze": "B3/S12345",
    "replicator": "B1357/S1357",
    "2x2": "B36/S125",
    "diamoeba": "B35678/S5678",
    "morley": "B368/S245",
    "anneal": "B4678/S35678",
}
"""Named Life-like rules (Wolfram/Golly names), usable wherever a rule string is."""

_RULE = re.compile(r"^B([0-9,]*)/S([0-9,]*)$", re.IGNORECASE)


def _counts(part: str, letter: str, max_count: int, rule: str) -> tuple[int, ...]:
    items = part.split(",") if "," in part else list(part)
    if len(items) == 2 and items[1] == "" and items[0].isdigit() and int(items[0]) > 9:
        items = items[:1]  # "10," is the single count 10 (format_rule writes it so)
    if any(len(i) > 4 for i in items):
        raise RuleError(f"bad rule string {_clip(rule)}: a neighbour count in {letter} has more than 4 digits")
    if "," in part and any(not i.isdigit() for i in items):
        raise RuleError(f"bad rule string {_clip(rule)}: empty or non-numeric entry in {letter}{part[:40]}")
    counts = [int(i) for i in items]
    for c in counts:
        if c > max_count:
            raise RuleError(
                f"bad rule string {_clip(rule)}: {letter}{c} is impossible, a cell has only "
                f"{max_count} neighbours"
            )
    if len(set(counts)) != len(counts):
        raise RuleError(f"bad rule string {_clip(rule)}: repeated count in {letter}{part[:40]}")
    return tuple(sorted(counts))


def parse_rule(rule: str, num_spatial_dims: int = 2) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``"B3/S23"`` -> ``((3,), (2, 3))``; also a preset name (``"highlife"``).

    Strict: anything but ``B<counts>/S<counts>`` (case-insensitive; counts as digits, or
    comma-separated when a count exceeds 9 in 3-D and above, a lone such count written
    with a trailing comma: ``"B10,/S4,5"``) raises RuleError.
    """
    if not isinstance(rule, str):
        raise RuleError(f"rule must be a string like 'B3/S23', got {_clip(rule)}")
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleError(f"a Life rule string is at most {MAX_RULE_LENGTH} characters, got {len(rule)}")
    text = PRESETS.get(rule.strip().lower(), rule.strip())
    m = _RULE.match(text)
    if m is None:
        names = ", ".join(sorted(PRESETS))
        raise RuleError(
            f"bad rule string {_clip(rule)}: expected B<counts>/S<counts> such as 'B3/S23', or one "
            f"of {names}"
        )
    max_count = 3**num_spatial_dims - 1
    return _counts(m.group(1), "B", max_count, rule), _counts(m.group(2), "S", max_count, rule)


def format_rule(birth: tuple[int, ...], survive: tuple[int, ...]) -> str:
    """The canonical B/S string of a rule."""
    if not any(c > 9 for c in birth + survive):
        return f"B{''.join(map(str, birth))}/S{''.join(map(str, survive))}"

    def part(counts: tuple[int, ...]) -> str:  # a lone count >= 10 gets a trailing comma
        return ",".join(map(str, counts)) + ("," if len(counts) == 1 and counts[0] > 9 else "")

    return f"B{part(birth)}/S{part(survive)}"


@register("life", paper="Gardner 1970, Mathematical Games (Conway's Game of Life)", tags=("classic", "2d"))
class Life(AbstractGridAutomaton):
    """A Life-like CA (B/S rule) on the radius-1 Moore neighbourhood in N dimensions.

    State: 0/1 cells of shape ``(*spatial, 1)`` (``uint8``).
    """

    birth: tuple[int, ...] = eqx.field(static=True)
    survive: tuple[int, ...] = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True, default=1)

    state_dtype = jnp.uint8

    def __init__(self, rule: str = "B3/S23", *, boundary: Boundary = "periodic", num_spatial_dims: int = 2):
        num_spatial_dims = check_int("num_spatial_dims", num_spatial_dims, minimum=1, maximum=MAX_DIMS)
        self.birth, self.survive = parse_rule(rule, num_spatial_dims)
        self.boundary = check_boundary(boundary)
        self.num_spatial_dims = num_spatial_dims

    @property
    def rule(self) -> str:
        return format_rule(self.birth, self.survive)

    def config(self) -> dict[str, Any]:
        return {"rule": self.rule, "boundary": self.boundary, "num_spatial_dims": self.num_spatial_dims}

    def step(self, state: UInt8[Array, "*spatial 1"], input=None, *, key=None) -> UInt8[Array, "*spatial 1"]:
        max_count = 3**self.num_spatial_dims - 1
        # counts fit uint8 up to 5-D (242 neighbours); wider sums above that
        alive = (state[..., 0] != 0).astype(jnp.uint8 if max_count <= 255 else jnp.int32)
        count = neighbour_sum(alive, "moore", 1, self.boundary, num_spatial_dims=self.num_spatial_dims)
        born = np.zeros(max_count + 1, bool)
        born[list(self.birth)] = True
        keep = np.zeros(max_count + 1, bool)
        keep[list(self.survive)] = True
        table = jnp.asarray(np.stack([born, keep]))  # [alive, count] -> next
        nxt = table[alive.astype(jnp.int32), count.astype(jnp.int32)]
        return nxt.astype(state.dtype)[..., None]

    def value_range(self) -> None:
        """Any integer: every non-zero cell is alive."""
        return None

    def prepare_state(self, state):
        """Any non-zero cell is alive (a plain cast would wrap e.g. 256 to 0)."""
        return (jnp.asarray(state) != 0).astype(self.state_dtype)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, density: float = 0.5):
        """A random soup (each cell alive with probability ``density``); ``key=None`` uses
        ``PRNGKey(0)``. Default size 128 per axis (32 in 3-D and above)."""
        density = check_float("density", density, minimum=0.0, maximum=1.0)
        shape = self.spatial_shape(size, 128 if self.num_spatial_dims <= 2 else 32)
        key = jax.random.PRNGKey(0) if key is None else check_key(key, batch_shape=(), error=StateError)
        return jax.random.bernoulli(key, density, shape + (1,)).astype(self.state_dtype)

    def render(self, state) -> np.ndarray:
        return palette_rgb(as_image(state, self.num_spatial_dims)[..., 0])

    # fast path: rollouts of 2-D periodic/zero grids run bit-packed (cax_zoo/_blocks/_bitpack.py)
    @property
    def halo(self) -> int:
        """Neighbourhood radius: rows a sharded rollout exchanges per step."""
        return 1

    def _packed(self) -> bool:
        return self.num_spatial_dims == 2 and self.boundary in ("periodic", "zero")

    def encode_state(self, state):
        if not self._packed():
            return state
        return _bitpack.PackedGrid(_bitpack.pack(state[..., 0]), state.shape[-2])

    def encoded_step(self, encoded, input=None, *, key=None):
        if not isinstance(encoded, _bitpack.PackedGrid):
            return self.step(encoded, input, key=key)
        logic = _bitpack.life_logic(self.birth, self.survive)
        words = _bitpack.life_step_packed(encoded.words, encoded.width, logic, self.boundary)
        return _bitpack.PackedGrid(words, encoded.width)

    def decode_state(self, encoded):
        if not isinstance(encoded, _bitpack.PackedGrid):
            return encoded
        return _bitpack.unpack(encoded.words, encoded.width, self.state_dtype)[..., None]


def _preset(rule: str):
    def factory(**config):
        return Life(config.pop("rule", rule), **config)

    return factory


for _name in ("highlife", "seeds", "day_and_night", "life_without_death", "maze", "replicator", "diamoeba", "morley", "anneal"):
    register(f"life/{_name}", description=f"Life-like rule {PRESETS[_name]} ({_name.replace('_', ' ')})",
             tags=("classic", "2d"))(_preset(PRESETS[_name]))
