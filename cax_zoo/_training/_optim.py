"""Optimisers of the neural CA papers: Adam with per-parameter gradient normalisation
(each parameter array's gradient divided by its L2 norm) and a piecewise-constant or
cosine learning-rate schedule."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax

from .._errors import ConfigError


def normalize_per_parameter(eps: float = 1e-8) -> optax.GradientTransformation:
    """Divide every parameter array's gradient by its own L2 norm (Mordvintsev et al.)."""

    def init(params):
        return optax.EmptyState()

    def update(updates, state, params=None):
        updates = jax.tree_util.tree_map(lambda g: g / (jnp.sqrt(jnp.sum(g * g)) + eps), updates)
        return updates, state

    return optax.GradientTransformation(init, update)


def make_schedule(lr: float, *, schedule: str = "constant", steps: int = 1,
                  boundaries: Sequence[int] = (), decay: float = 0.1) -> optax.Schedule:
    """``constant``, ``piecewise`` (multiply by ``decay`` at each boundary step),
    ``linear`` (to ``lr * decay`` at the first boundary, or at ``steps`` without one, then
    constant; CAX's schedule) or ``cosine`` (to ``lr * decay`` at ``steps``)."""
    if schedule == "constant":
        return optax.constant_schedule(lr)
    if schedule == "piecewise":
        return optax.piecewise_constant_schedule(lr, {int(b): decay for b in boundaries})
    if schedule == "linear":
        end = int(boundaries[0]) if len(boundaries) else int(steps)
        return optax.linear_schedule(lr, lr * decay, transition_steps=max(1, end))
    if schedule == "cosine":
        return optax.cosine_decay_schedule(lr, max(1, int(steps)), alpha=decay)
    raise ConfigError(f"unknown learning-rate schedule {schedule!r}; expected constant, piecewise, linear or cosine")


def make_optimizer(lr: float, *, schedule: str = "constant", steps: int = 1,
                   boundaries: Sequence[int] = (), decay: float = 0.1,
                   normalize_gradients: bool = True, clip_norm: float | None = None) -> optax.GradientTransformation:
    """Adam on (optionally) per-parameter normalised, (optionally) globally clipped
    gradients, with the given learning-rate schedule."""
    parts = []
    if normalize_gradients:
        parts.append(normalize_per_parameter())
    if clip_norm is not None and clip_norm > 0:
        parts.append(optax.clip_by_global_norm(clip_norm))
    parts.append(optax.adam(make_schedule(lr, schedule=schedule, steps=steps, boundaries=boundaries, decay=decay)))
    return optax.chain(*parts)
