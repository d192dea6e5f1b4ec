"""Rollouts of a random length under one compile: the growing-NCA papers draw each
iteration's number of steps, which must not recompile the train step."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, PRNGKeyArray

from .._nca._active_cells import capacity_cells, check_active_cells, finish, prepare
from .._validation import check_float


def rollout_up_to(model: Any, batch: Array, num_steps: Int[Array, ""] | int, max_steps: int,
                  key: PRNGKeyArray, *, remat: bool = True, active_cells: float = 0.0) -> Array:
    """Every state of ``batch`` ``(B, ...)`` after ``num_steps`` (traced, at most the static
    ``max_steps``, the scan's length) steps of ``model``; later steps leave the states as
    they are. Step ``t`` draws state ``i``'s randomness from
    ``split(split(key, max_steps)[t], B)[i]``.

    Steps past ``num_steps`` are skipped (a ``lax.cond``, in the backward pass too), not
    computed and discarded. ``remat=True`` recomputes each step's activations in the
    backward pass instead of storing them: on a CPU, less memory traffic outweighs the
    extra forward pass for grid NCAs (a 72x72x16 growing NCA trains about 10 % faster).
    Neither changes the result.

    ``active_cells`` > 0 runs each step's MLP only on the cells whose update can reach the
    result, up to that fraction of the batch's cells (:func:`~cax_zoo.nca.active_cell_steps`;
    NCAs with an :class:`~cax_zoo.nca.NCAUpdate` and a neighbourhood alive mask), every
    cell at a step that needs more: the same states and gradients, to float rounding.
    Skipping, active cells and every cell are one ``lax.switch`` per step."""
    b = batch.shape[0]
    active_cells = check_float("active_cells", active_cells, minimum=0.0, maximum=1.0)
    steps = jnp.arange(max_steps)
    keys = jax.random.split(key, max_steps)
    checkpoint = jax.checkpoint if remat else (lambda f: f)

    if active_cells > 0:  # one switch per step: skip, the active cells, or every cell
        limit = capacity_cells(active_cells, batch)
        check_active_cells(model)
        branches = [lambda s, _: s, checkpoint(lambda s, d: finish(model, s, d, limit)),
                    checkpoint(lambda s, d: finish(model, s, d, None))]

        def active_body(states, xs):
            t, k = xs
            draws = prepare(model, states, jax.random.split(k, b))
            branch = jnp.where(t < num_steps, jnp.where(draws.count() <= limit, 1, 2), 0)
            return jax.lax.switch(branch, branches, states, draws), None

        return jax.lax.scan(active_body, batch, (steps, keys))[0]

    def step_all(states, k):
        return jax.vmap(lambda x, kk: model.step(x, key=kk))(states, jax.random.split(k, b))

    step_all = checkpoint(step_all)

    def body(states, xs):
        t, k = xs
        return jax.lax.cond(t < num_steps, step_all, lambda s, _: s, states, k), None

    return jax.lax.scan(body, batch, (steps, keys))[0]
