"""Rollouts of a random length under one compile: the growing-NCA papers draw each
iteration's number of steps, which must not recompile the train step."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, PRNGKeyArray


def rollout_up_to(model: Any, batch: Array, num_steps: Int[Array, ""] | int, max_steps: int,
                  key: PRNGKeyArray) -> Array:
    """Every state of ``batch`` ``(B, ...)`` after ``num_steps`` (traced, at most the static
    ``max_steps``, the scan's length) steps of ``model``; later steps leave the states as
    they are. Step ``t`` draws state ``i``'s randomness from
    ``split(split(key, max_steps)[t], B)[i]``."""
    b = batch.shape[0]

    def body(states, xs):
        t, k = xs
        new = jax.vmap(lambda x, kk: model.step(x, key=kk))(states, jax.random.split(k, b))
        return jnp.where(t < num_steps, new, states), None

    final, _ = jax.lax.scan(body, batch, (jnp.arange(max_steps), jax.random.split(key, max_steps)))
    return final
