"""The abelian sandpile (Bak, Tang and Wiesenfeld 1987) in any number of dimensions."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray

from .._blocks._neighbourhood import neighbour_sum
from .._errors import StateError
from .._grid import AbstractGridAutomaton, as_image
from .._registry import register
from .._keys import check_key
from .._validation import INT32_MAX, check_choice, check_int

MAX_DIMS = 6  # a 6-D pile of 16 cells per axis is already 16.7 million cells

SANDPILE_COLOURS = np.array(
    [[0, 0, 0], [40, 90, 200], [240, 200, 40], [210, 40, 40]], dtype=np.uint8
)
"""0, 1, 2, 3 grains (2-D); heights of 4 and more are drawn white."""


@register(
    "sandpile",
    paper="Bak, Tang and Wiesenfeld 1987, Self-organized criticality (PRL 59, 381)",
    tags=("classic", "2d"),
)
class Sandpile(AbstractGridAutomaton):
    """The abelian sandpile in ``d`` dimensions: cells with ``2d`` grains or more topple.

    A toppling cell sends one grain to each of its ``2d`` von Neumann neighbours.

    One :meth:`step` topples every unstable cell once, in parallel; :meth:`stabilise`
    steps until no cell is unstable. With ``boundary="zero"`` (the default) grains that
    leave the grid are lost (the sink), so every pile stabilises; with
    ``boundary="periodic"`` mass is conserved exactly, and a torus holding at least
    ``(2d - 1) * cells + 1`` grains can never stabilise.

    State: grain counts of shape ``(*spatial, 1)`` (``int32``).
    """

    boundary: str = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True, default=1)

    state_dtype = jnp.int32

    def __init__(self, *, boundary: str = "zero", num_spatial_dims: int = 2):
        self.boundary = check_choice("boundary", boundary, ("zero", "periodic"))
        self.num_spatial_dims = check_int("num_spatial_dims", num_spatial_dims, minimum=1, maximum=MAX_DIMS)

    @property
    def threshold(self) -> int:
        """Grains at which a cell topples: ``2 * num_spatial_dims``."""
        return 2 * self.num_spatial_dims

    def config(self) -> dict[str, Any]:
        return {"boundary": self.boundary, "num_spatial_dims": self.num_spatial_dims}

    def value_range(self) -> tuple[int, int]:
        """``0`` to ``2**31 - 1 - 2d`` grains: no negative piles, and a cell that receives
        ``2d`` grains can not overflow ``int32`` (no cell ever grows past its start or
        ``4d - 1``, so a state in range stays in range)."""
        return 0, INT32_MAX - self.threshold

    def _check_values(self, state) -> None:
        if np.dtype(state.dtype).kind == "i":
            low = np.asarray(state).min()
            if low < 0:  # a clearer message than value_range's for the common mistake
                raise StateError(f"a sandpile cannot hold a negative number of grains (got {low})")
        super()._check_values(state)

    def step(self, state: Int[Array, "*spatial 1"], input=None, *, key=None) -> Int[Array, "*spatial 1"]:
        grains = state[..., 0]
        topple = (grains >= self.threshold).astype(grains.dtype)
        received = neighbour_sum(
            topple, "von_neumann", 1, self.boundary, num_spatial_dims=self.num_spatial_dims
        )
        return (grains - self.threshold * topple + received)[..., None]

    def stabilise(self, state: Int[Array, "*spatial 1"], max_steps: int = 1_000_000) -> Int[Array, "*spatial 1"]:
        """Topple (in parallel rounds) until every cell holds fewer than ``2d`` grains, or
        ``max_steps`` rounds have run. One unbatched state, or a batch (each its own loop)."""
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or not 0 <= max_steps <= INT32_MAX:
            raise StateError(f"max_steps must be an integer in 0..{INT32_MAX}, got {max_steps!r}")
        batch_dims = self.check_state(state)
        state = self.prepare_state(state)
        return _stabilise(self, state, int(max_steps), batch_dims)

    def is_stable(self, state) -> bool:
        """Whether no cell holds ``2d`` grains or more."""
        return bool(jnp.all(jnp.asarray(state) < self.threshold))

    def init_state(
        self, size: int | tuple[int, ...] | None = None, *, key: PRNGKeyArray | None = None,
        grains: int | None = None,
    ) -> Int[Array, "*spatial 1"]:
        """``grains`` at the centre cell of an empty grid (default ``2**12`` in 2-D,
        ``2**6`` in 1-D, ``2**10`` in 3-D and above), or with ``key`` a uniformly random
        stable pile (``0..2d-1`` grains per cell). Default size 64 per axis in 1-D and 2-D,
        32 in 3-D and above."""
        d = self.num_spatial_dims
        shape = self.spatial_shape(size, 64 if d <= 2 else 32)
        if key is not None:
            check_key(key, error=StateError)
            return jax.random.randint(key, shape + (1,), 0, self.threshold).astype(jnp.int32)
        if grains is None:
            grains = {1: 2**6, 2: 2**12}.get(d, 2**10)
        lo, hi = self.value_range()
        if isinstance(grains, bool) or not isinstance(grains, (int, np.integer)) or not lo <= grains <= hi:
            raise StateError(f"grains must be an integer in {lo}..{hi}, got {grains!r}")
        centre = tuple(n // 2 for n in shape) + (0,)
        return jnp.zeros(shape + (1,), jnp.int32).at[centre].set(int(grains))

    def render(self, state) -> np.ndarray:
        """0..3 grains in black, blue, yellow, red; 4 and more white (unstable in 2-D).
        In 3-D and above, the maximum along the leading axes."""
        h = np.asarray(as_image(state, self.num_spatial_dims))[..., 0]
        out = np.full(h.shape + (3,), 255, np.uint8)
        small = h < len(SANDPILE_COLOURS)
        out[small] = SANDPILE_COLOURS[np.clip(h[small], 0, None)]
        return out


@eqx.filter_jit
def _stabilise(model: Sandpile, state, max_steps: int, batch_dims: int):
    def run(s):
        def cond(carry):
            s, n = carry
            return jnp.logical_and(n < max_steps, jnp.any(s >= model.threshold))

        def body(carry):
            s, n = carry
            return model.step(s), n + 1

        return jax.lax.while_loop(cond, body, (s, jnp.int32(0)))[0]

    return jax.vmap(run)(state) if batch_dims else run(state)
