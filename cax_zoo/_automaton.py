"""The base class of every automaton: one step, jitted rollouts, batching, validation."""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree, UInt8

from ._errors import StateError

State = PyTree[Array]
"""A state is a PyTree of arrays; grid families use one channel-last array ``(*spatial, C)``."""


class AbstractAutomaton(eqx.Module):
    """A cellular automaton (or particle system) as an Equinox module.

    Subclasses implement :meth:`step` for one unbatched state, :meth:`config` (the
    JSON-able keyword arguments that rebuild the module), :meth:`init_state`,
    :meth:`render` and :meth:`check_state`. The base class gives every family jitted,
    validated, optionally batched rollouts with trajectory sampling, which work under
    ``jax.grad`` for the differentiable families.

    Fast paths: a family may override :meth:`encode_state`, :meth:`encoded_step` and
    :meth:`decode_state` so that a rollout runs on a different representation (e.g.
    bit-packed words) and converts only at its ends; :meth:`step` stays the reference.
    """

    # ---------------------------------------------------------------- to implement
    @abc.abstractmethod
    def step(self, state: State, input: Any = None, *, key: PRNGKeyArray | None = None) -> State:
        """Advance one unbatched state by one time step (the reference path)."""

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-able keyword arguments with which the family's constructor rebuilds this
        module's skeleton (every array then comes from the weight file)."""

    @abc.abstractmethod
    def init_state(
        self, size: tuple[int, ...] | None = None, *, key: PRNGKeyArray | None = None
    ) -> State:
        """A starting state: the family's canonical seed, or a random one from ``key``."""

    @abc.abstractmethod
    def render(self, state: State) -> UInt8[np.ndarray, "H W 3"]:
        """One unbatched state as an RGB image (for 1-D families, a single row)."""

    @abc.abstractmethod
    def check_state(self, state: State) -> int:
        """Validate a state before any JAX work; return its number of leading batch axes
        (0 or 1). Raise :class:`~cax_zoo.StateError` naming the problem otherwise."""

    # ---------------------------------------------------------------- optional hooks
    def prepare_state(self, state: State) -> State:
        """Convert an accepted state to the family's canonical dtype (default: as is)."""
        return state

    def encode_state(self, state: State) -> Any:
        """Map a canonical state to the representation :meth:`encoded_step` runs on."""
        return state

    def encoded_step(self, encoded: Any, input: Any = None, *, key: PRNGKeyArray | None = None) -> Any:
        """One step on the encoded representation (default: :meth:`step`)."""
        return self.step(encoded, input, key=key)

    def decode_state(self, encoded: Any) -> State:
        """Inverse of :meth:`encode_state`."""
        return encoded

    def render_trajectory(self, trajectory: State) -> list[np.ndarray]:
        """Frames of a trajectory (leading time axis); 1-D families return one space-time
        diagram instead."""
        n = jax.tree_util.tree_leaves(trajectory)[0].shape[0]
        return [self.render(jax.tree_util.tree_map(lambda x: x[i], trajectory)) for i in range(n)]

    # ---------------------------------------------------------------- provided
    def __call__(self, state: State, input: Any = None, *, key: PRNGKeyArray | None = None) -> State:
        """One validated, jitted step; a leading batch axis is handled."""
        return self.rollout(state, 1, input=input, key=key)

    def rollout(
        self,
        state: State,
        num_steps: int,
        *,
        input: Any = None,
        every: int = 1,
        key: PRNGKeyArray | None = None,
        trajectory: bool = False,
    ) -> State | tuple[State, State]:
        """Run ``num_steps`` steps under ``jax.lax.scan``.

        Returns the final state, or ``(final, trajectory)`` when ``trajectory=True``, where
        ``trajectory[i]`` is the state after ``i * every`` steps (``i = 0`` is the initial
        state), so only ``num_steps // every + 1`` states are kept. A state with a leading
        batch axis is vmapped; ``input`` then carries the same batch axis (or is shared if
        it has none) and ``key`` is split per batch element.
        """
        num_steps = _check_count("num_steps", num_steps, minimum=0)
        every = _check_count("every", every, minimum=1)
        batch_dims = self.check_state(state)
        state = self.prepare_state(state)
        return _rollout(self, state, input, key, num_steps, every, bool(trajectory), batch_dims)


def _check_count(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StateError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise StateError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _scan_rollout(model, state, input, key, num_steps: int, every: int, trajectory: bool):
    def one(carry, _):
        enc, k = carry
        if k is None:
            sub = None
        else:
            k, sub = jax.random.split(k)
        return (model.encoded_step(enc, input, key=sub), k), None

    def block(carry, _):
        carry, _ = jax.lax.scan(one, carry, None, length=every)
        out = model.decode_state(carry[0]) if trajectory else None
        return carry, out

    carry = (model.encode_state(state), key)
    num_blocks, remainder = divmod(num_steps, every)
    carry, samples = jax.lax.scan(block, carry, None, length=num_blocks)
    if remainder:
        carry, _ = jax.lax.scan(one, carry, None, length=remainder)
    final = model.decode_state(carry[0])
    if not trajectory:
        return final
    traj = jax.tree_util.tree_map(
        lambda s0, rest: jnp.concatenate([s0[None], rest.astype(s0.dtype)], axis=0), state, samples
    )
    return final, traj


@eqx.filter_jit
def _rollout(model, state, input, key, num_steps, every, trajectory, batch_dims):
    if batch_dims == 0:
        return _scan_rollout(model, state, input, key, num_steps, every, trajectory)
    batch = jax.tree_util.tree_leaves(state)[0].shape[0]
    keys = None if key is None else jax.random.split(key, batch)
    in_axis = _input_axis(input, batch)

    def single(s, i, k):
        return _scan_rollout(model, s, i, k, num_steps, every, trajectory)

    return jax.vmap(single, in_axes=(0, in_axis, None if keys is None else 0))(state, input, keys)


def _input_axis(input: Any, batch: int):
    """Inputs whose leaves all have the batch size as leading axis are mapped, else shared."""
    leaves = jax.tree_util.tree_leaves(input)
    if leaves and all(getattr(x, "ndim", 0) >= 1 and x.shape[0] == batch for x in leaves):
        return 0
    return None
