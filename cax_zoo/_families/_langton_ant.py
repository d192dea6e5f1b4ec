"""Langton's ant and its multi-colour generalisations ("RL", "LLRR", "RLR", ...)."""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray, UInt8

from .._automaton import AbstractAutomaton
from .._errors import ConfigError, RuleError, StateError
from .._grid import palette_rgb
from .._registry import register
from .._resources import array_bytes, check_memory
from .._keys import check_key
from .._validation import INT32_MAX, check_size

WORKING_BYTES_PER_CELL = 8  # the uint8 grid, its updated copy and the rendered frame

TURNS: dict[str, int] = {"R": 1, "L": -1, "N": 0, "U": 2}
"""Turn letters: R(ight), L(eft), N(o turn), U(-turn), in quarter turns clockwise."""

MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)
"""Row/column step for each direction: 0 up, 1 right, 2 down, 3 left."""

ANT_COLOUR = np.array([255, 0, 0], dtype=np.uint8)


class AntState(NamedTuple):
    """The state of one ant on a grid of colours.

    - ``grid``: ``(H, W, 1)`` uint8 colours ``0..len(rule)-1`` (0 is white/empty),
    - ``position``: ``(2,)`` int32 ``(row, column)`` of the ant,
    - ``direction``: ``()`` int32, 0 up, 1 right, 2 down, 3 left.

    A batch carries one more leading axis on every field.
    """

    grid: UInt8[Array, "H W 1"]
    position: Int[Array, "2"]
    direction: Int[Array, ""]


def parse_turns(rule: str) -> tuple[int, ...]:
    """``"RL"`` -> ``(1, -1)``: the turn made on each colour. Strict: 2 to 255 letters from
    R, L, N, U (case-insensitive), else RuleError."""
    if not isinstance(rule, str):
        raise RuleError(f"an ant rule must be a string of turns like 'RL', got {rule!r}")
    text = rule.strip().upper()
    if not 2 <= len(text) <= 255:
        raise RuleError(f"bad ant rule {rule!r}: expected 2 to 255 turn letters (R, L, N, U) such as 'RL'")
    bad = sorted(set(text) - set(TURNS))
    if bad:
        raise RuleError(
            f"bad ant rule {rule!r}: unknown turn letter(s) {''.join(bad)!r}; use R (right), "
            "L (left), N (no turn) or U (U-turn)"
        )
    return tuple(TURNS[c] for c in text)


@register(
    "langton_ant",
    paper="Langton 1986, Studying artificial life with cellular automata",
    tags=("classic", "2d"),
)
class LangtonAnt(AbstractAutomaton):
    """Langton's ant with a turn string per colour (``"RL"`` is the classic ant).

    On a cell of colour ``i`` the ant turns by ``rule[i]``, sets the cell to colour
    ``i + 1 (mod len(rule))`` and steps forward one cell. The classic ant builds its
    period-104 "highway" after about 10,000 steps.

    State: an :class:`AntState` (grid ``(H, W, 1)`` uint8, position ``(2,)`` int32,
    direction ``()`` int32). The grid is a torus (``boundary="periodic"``).
    """

    rule: str = eqx.field(static=True)
    boundary: str = eqx.field(static=True)

    def __init__(self, rule: str = "RL", *, boundary: str = "periodic"):
        parse_turns(rule)
        if not isinstance(boundary, str) or boundary != "periodic":
            raise ConfigError(f"langton_ant supports only boundary='periodic', got {boundary!r}")
        self.rule = rule.strip().upper()
        self.boundary = boundary

    @property
    def num_colours(self) -> int:
        return len(self.rule)

    def config(self) -> dict[str, Any]:
        return {"rule": self.rule, "boundary": self.boundary}

    # ---------------------------------------------------------------- state
    def check_state(self, state) -> int:
        if not isinstance(state, AntState):
            raise StateError(
                f"LangtonAnt expects an AntState(grid, position, direction), got {type(state).__name__}"
            )
        grid, pos, direction = state
        for name, x in (("grid", grid), ("position", pos), ("direction", direction)):
            if not hasattr(x, "shape") or not hasattr(x, "dtype"):
                raise StateError(f"AntState.{name} must be an array, got {type(x).__name__}")
            if np.dtype(x.dtype).kind not in "iu" and not (name == "grid" and x.dtype == np.bool_):
                raise StateError(f"AntState.{name} must hold integers, got dtype {np.dtype(x.dtype).name}")
        if grid.ndim not in (3, 4) or grid.shape[-1] != 1 or any(n == 0 for n in grid.shape):
            raise StateError(
                f"AntState.grid must have shape (H, W, 1) or (batch, H, W, 1), got {tuple(grid.shape)}"
            )
        batch = grid.ndim - 3
        lead = tuple(grid.shape[:batch])
        if tuple(pos.shape) != lead + (2,):
            raise StateError(f"AntState.position must have shape {lead + (2,)}, got {tuple(pos.shape)}")
        if tuple(direction.shape) != lead:
            raise StateError(f"AntState.direction must have shape {lead}, got {tuple(direction.shape)}")
        if not isinstance(grid, jax.core.Tracer):
            g = np.asarray(grid)
            if g.dtype != np.bool_ and (g.min() < 0 or g.max() >= self.num_colours):
                raise StateError(
                    f"rule {self.rule!r} has {self.num_colours} colours but the grid holds values "
                    f"{g.min()}..{g.max()}"
                )
        for name, x in (("position", pos), ("direction", direction)):
            if not isinstance(x, jax.core.Tracer) and np.asarray(x).size:
                v = np.asarray(x)
                if v.min() < -INT32_MAX or v.max() > INT32_MAX:
                    raise StateError(f"AntState.{name} holds {v.min()}..{v.max()}, beyond int32")
        return batch

    def prepare_state(self, state: AntState) -> AntState:
        grid = jnp.asarray(state.grid).astype(jnp.uint8)
        size = jnp.array(grid.shape[-3:-1], jnp.int32)
        pos = jnp.mod(jnp.asarray(state.position).astype(jnp.int32), size)
        return AntState(grid, pos, jnp.mod(jnp.asarray(state.direction).astype(jnp.int32), 4))

    def init_state(self, size: int | tuple[int, int] | None = None, *, key: PRNGKeyArray | None = None) -> AntState:
        """An empty grid (default 128x128) with the ant in the centre facing up; with ``key``,
        uniformly random colours instead of an empty grid."""
        size = check_size("LangtonAnt size", 128 if size is None else size, num_dims=2, error=StateError)
        check_memory(array_bytes(size, WORKING_BYTES_PER_CELL), f"a {size[0]}x{size[1]} LangtonAnt grid")
        h, w = size
        if key is not None:
            check_key(key, error=StateError)
        if key is None:
            grid = jnp.zeros((h, w, 1), jnp.uint8)
        else:
            grid = jax.random.randint(key, (h, w, 1), 0, self.num_colours).astype(jnp.uint8)
        return AntState(grid, jnp.array([h // 2, w // 2], jnp.int32), jnp.array(0, jnp.int32))

    # ---------------------------------------------------------------- dynamics
    def step(self, state: AntState, input=None, *, key=None) -> AntState:
        grid, pos, direction = state
        h, w = grid.shape[0], grid.shape[1]
        turns = jnp.asarray(parse_turns(self.rule), jnp.int32)
        colour = grid[pos[0], pos[1], 0].astype(jnp.int32)
        direction = jnp.mod(direction + turns[colour], 4)
        grid = grid.at[pos[0], pos[1], 0].set(((colour + 1) % self.num_colours).astype(grid.dtype))
        move = jnp.asarray(MOVES)[direction]
        pos = jnp.mod(pos + move, jnp.array([h, w], jnp.int32))
        return AntState(grid, pos.astype(jnp.int32), direction.astype(jnp.int32))

    # ---------------------------------------------------------------- drawing
    def render(self, state: AntState) -> np.ndarray:
        """Colours from the palette (0 black, 1 white, ...), the ant's cell in red."""
        grid = np.asarray(jax.device_get(state.grid))[..., 0]
        image = palette_rgb(grid)
        r, c = (int(v) for v in np.asarray(state.position))
        image[r % grid.shape[0], c % grid.shape[1]] = ANT_COLOUR
        return image


def _preset(rule: str):
    def factory(**config):
        return LangtonAnt(config.pop("rule", rule), **config)

    return factory


for _rule in ("LLRR", "RLR"):
    register(f"langton_ant/{_rule.lower()}", description=f"Langton's ant with turns {_rule}",
             tags=("classic", "2d"))(_preset(_rule))
