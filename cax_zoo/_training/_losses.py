"""The image losses the growing-NCA recipes share."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def rgba_mse(states: Float[Array, "*B H W C"], target: Float[Array, "*B H W 4"]) -> Float[Array, "*B"]:
    """Each state's mean squared error to ``target`` over its RGBA channels (the first 4
    of ``C``; the hidden ones are free): the growing, diffusing and conditional NCAs' loss."""
    return jnp.mean((states[..., :4] - target) ** 2, axis=(-3, -2, -1))
