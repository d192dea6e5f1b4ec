"""The base class of every automaton: one step, jitted rollouts, batching, validation."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree, UInt8

from ._errors import StateError
from ._resources import check_trajectory
from ._keys import check_key

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
        input_per_step: bool = False,
        every: int = 1,
        key: PRNGKeyArray | None = None,
        trajectory: bool = False,
        observe: Callable[[State], Any] | None = None,
    ) -> Any:
        """Run ``num_steps`` steps under ``jax.lax.scan``.

        Returns the final state; with ``trajectory=True`` also the trajectory, where
        ``trajectory[i]`` is the state after ``i * every`` steps (``i = 0`` is the initial
        state), so only ``num_steps // every + 1`` states are kept; with ``observe=fn`` also
        ``fn(state)`` at those same times, stacked on a leading axis (a metric, a read-out:
        cheaper than a trajectory). The result is ``final``, ``(final, trajectory)``,
        ``(final, observations)`` or ``(final, trajectory, observations)``.

        ``input`` goes to every step (a label, a latent, a mask); with
        ``input_per_step=True`` every leaf of ``input`` has a leading axis of
        ``num_steps`` and step ``t`` receives ``input[t]`` (a schedule).

        A state with a leading batch axis is vmapped (``observe`` then sees unbatched
        states); ``input`` then carries the same batch axis first (or is shared if it has
        none) and ``key`` is split per batch element. ``key=None`` runs the family's
        deterministic step (e.g. every cell of a stochastic NCA fires).
        """
        num_steps = _check_count("num_steps", num_steps, minimum=0)
        every = _check_count("every", every, minimum=1)
        if not isinstance(input_per_step, bool):
            raise StateError(f"input_per_step must be True or False, got {input_per_step!r}")
        if observe is not None and not callable(observe):
            raise StateError(f"observe must be a function of a state, got {type(observe).__name__}")
        if key is not None:
            key = check_key(key, error=StateError)
        batch_dims = self.check_state(state)
        if trajectory:  # refuse what the device cannot hold before XLA tries to allocate it
            check_trajectory(state, num_steps // every + 1)
        batch = jax.tree_util.tree_leaves(state)[0].shape[0] if batch_dims else None
        in_axis = _input_axis(input, batch, num_steps if input_per_step else None)
        state = self.prepare_state(state)
        return _rollout(self, state, input, key, num_steps, every, bool(trajectory), batch_dims,
                        in_axis, input_per_step, observe)


def _check_count(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise StateError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise StateError(f"{name} must be >= {minimum}, got {value}")
    if value > 2**31 - 1:  # scan lengths and step counters are int32
        raise StateError(f"{name} must be <= {2**31 - 1}, got {value}")
    return int(value)


def _scan_rollout(model, state, input, key, num_steps: int, every: int, trajectory: bool,
                  per_step: bool = False, observe=None):
    def one(carry, x):
        enc, k = carry
        if k is None:
            sub = None
        else:
            k, sub = jax.random.split(k)
        return (model.encoded_step(enc, x if per_step else input, key=sub), k), None

    def sample(carry):
        s = model.decode_state(carry[0])
        return (s if trajectory else None), (None if observe is None else observe(s))

    def block(carry, xs):
        carry, _ = jax.lax.scan(one, carry, xs, length=every)
        return carry, sample(carry) if (trajectory or observe is not None) else None

    num_blocks, remainder = divmod(num_steps, every)
    if per_step:
        head = jax.tree_util.tree_map(
            lambda x: x[: num_blocks * every].reshape((num_blocks, every) + x.shape[1:]), input)
        tail = jax.tree_util.tree_map(lambda x: x[num_blocks * every :], input)
    else:
        head = tail = None
    carry = (model.encode_state(state), key)
    carry, samples = jax.lax.scan(block, carry, head, length=num_blocks)
    if remainder:
        carry, _ = jax.lax.scan(one, carry, tail, length=remainder)
    final = model.decode_state(carry[0])
    if not trajectory and observe is None:
        return final
    out = [final]
    if trajectory:
        out.append(jax.tree_util.tree_map(
            lambda s0, rest: jnp.concatenate([s0[None], rest.astype(s0.dtype)], axis=0), state, samples[0]))
    if observe is not None:
        first = observe(state)
        out.append(jax.tree_util.tree_map(
            lambda o0, rest: jnp.concatenate([jnp.asarray(o0)[None], rest], axis=0), first, samples[1]))
    return tuple(out)


@eqx.filter_jit
def _rollout(model, state, input, key, num_steps, every, trajectory, batch_dims, in_axis=None,
             per_step=False, observe=None):
    if batch_dims == 0:
        return _scan_rollout(model, state, input, key, num_steps, every, trajectory, per_step, observe)
    batch = jax.tree_util.tree_leaves(state)[0].shape[0]
    keys = None if key is None else jax.random.split(key, batch)

    def single(s, i, k):
        return _scan_rollout(model, s, i, k, num_steps, every, trajectory, per_step, observe)

    return jax.vmap(single, in_axes=(0, in_axis, None if keys is None else 0))(state, input, keys)


def _input_axis(input: Any, batch: int | None, num_steps: int | None):
    """How ``vmap`` maps ``input`` over a batch: 0 when every leaf has the batch size as
    its leading axis (and, for per-step inputs, ``num_steps`` next), else shared (None).
    Per-step inputs without the step axis are refused before any JAX work."""
    leaves = jax.tree_util.tree_leaves(input)
    shapes = [tuple(getattr(x, "shape", ())) for x in leaves]
    if num_steps is None:
        if batch is not None and leaves and all(len(s) >= 1 and s[0] == batch for s in shapes):
            return 0
        return None
    if not leaves:
        raise StateError("input_per_step=True needs an input with a leading axis of num_steps")
    if batch is not None and all(len(s) >= 2 and s[0] == batch and s[1] == num_steps for s in shapes):
        return 0
    bad = [s for s in shapes if len(s) < 1 or s[0] != num_steps]
    if bad:
        expected = f"(num_steps={num_steps}, ...)" + (f" or (batch={batch}, num_steps={num_steps}, ...)"
                                                       if batch is not None else "")
        raise StateError(f"a per-step input must have shape {expected}, got {bad[0]}")
    return None
