"""The abstract neural CA: perceive -> update (with its fire rate and alive mask)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._nca import optional_key
from .._grid import AbstractGridAutomaton
from .._validation import check_int
from ._perceive import AbstractPerceive
from ._update import AbstractUpdate


class AbstractNCA(AbstractGridAutomaton):
    """A neural cellular automaton: each step, every cell perceives its neighbourhood
    (``perceive``), then ``update`` computes its next state from those features and the
    step's ``input``, applying the fire rate and the alive mask when it has them.

    Subclasses provide the fields ``perceive`` (an :class:`AbstractPerceive`),
    ``update`` (an :class:`AbstractUpdate`), ``num_spatial_dims`` and ``num_channels``,
    and implement :meth:`config`, :meth:`init_state` and :meth:`render`. States are
    float32 ``(*spatial, C)``.

    Randomness: a stochastic update (fire rate < 1) draws which cells fire from the
    ``key`` given to :meth:`step` / ``rollout``; without a key (``key=None``) the update
    is deterministic and every cell fires.

    Input: ``rollout(state, n, input=x)`` hands ``x`` to every step (or ``x[t]`` to step
    ``t`` with ``input_per_step=True``); the update modules append it to each cell's
    features (see :func:`~cax_zoo.nca.with_input`), so size the MLP's input for it.
    """

    perceive: eqx.AbstractVar[AbstractPerceive]
    update: eqx.AbstractVar[AbstractUpdate]

    state_kind = "continuous"
    state_dtype = jnp.float32

    def step(self, state: Float[Array, "*spatial C"], input: Any = None, *,
             key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """One step of one unbatched state: ``update(state, perceive(state), input, key=key)``."""
        return self.update(state, self.perceive(state), input, key=key)


def batch_states(make: Callable[[PRNGKeyArray | None], Array], batch_size: int | None,
                 key: PRNGKeyArray | None) -> Array:
    """``make(key)`` (one state), or with ``batch_size`` a ``(batch_size, ...)`` stack: the
    same state repeated when ``key`` is None, else one state per split of ``key``, drawn
    in one vectorised call (``make`` must be traceable by :func:`jax.vmap`).
    The NCAs' ``init_state(..., batch_size=...)`` is built on it."""
    key = optional_key(key)
    if batch_size is None:
        return make(key)
    n = check_int("batch_size", batch_size, minimum=1, maximum=1_000_000)
    if key is None:
        one = make(None)
        return jnp.broadcast_to(one, (n,) + one.shape)
    return jax.vmap(make)(jax.random.split(key, n))
