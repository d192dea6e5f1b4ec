"""The conditional NCA's evaluation: grow every target from the seed, cut, regrow."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._errors import ConfigError
from ..._validation import check_int, refuse_options
from ._model import ConditionalNCA

EVAL_KEY = 20_251_204
"""Root of the evaluation's keys; the recipe draws its keys from ``PRNGKey(seed)`` folded
with the step number, so the evaluation's fire-rate draws are never a training draw."""


def evaluate(model: ConditionalNCA, *, data=None, steps: int | None = None, num_seeds: int = 8,
             seed: int = 0, **options: Any) -> dict[str, Any]:
    """For each target, grow ``num_seeds`` runs from the seed with its label for ``steps``
    steps (default ``model.steps``, the growth time it was trained for) and measure the
    RGBA mean squared error to that target (``mse_per_target``, mean over the runs;
    ``mse_mean`` and ``mse_max`` over the targets); then cut a disc of radius size/5 out of
    each result, run ``steps`` more steps and measure again (``mse_after_regrow_per_target``).
    Keys derive from ``EVAL_KEY + seed``, never used in training."""
    refuse_options(options)
    if not isinstance(model, ConditionalNCA):
        raise ConfigError(f"evaluate expects a ConditionalNCA, got {type(model).__name__}")
    if not model.has_targets():
        raise ConfigError("this ConditionalNCA has no targets (a fresh model); train one or load a release")
    steps = check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=100_000)
    num_seeds = check_int("num_seeds", num_seeds, minimum=1, maximum=4096)
    seed = check_int("seed", seed, minimum=0)
    n = model.num_labels
    k_grow, k_regrow = jax.random.split(jax.random.PRNGKey(EVAL_KEY + seed))
    labels = jnp.repeat(jnp.eye(n, dtype=jnp.float32), num_seeds, axis=0)  # (n * num_seeds, n), target-major
    targets = jnp.repeat(model.targets, num_seeds, axis=0)

    def per_target(states):
        err = jnp.mean((states[..., :4] - targets) ** 2, axis=(1, 2, 3)).reshape(n, num_seeds).mean(axis=1)
        return {name: float(e) for name, e in zip(model.names, err)}

    grown = model.rollout(model.init_state(batch_size=n * num_seeds), steps, input=labels, key=k_grow)
    regrown = model.rollout(model.damage_state(grown), steps, input=labels, key=k_regrow)
    grow, regrow = per_target(grown), per_target(regrown)
    return {"mse_per_target": grow, "mse_mean": sum(grow.values()) / n, "mse_max": max(grow.values()),
            "mse_after_regrow_per_target": regrow, "mse_after_regrow_mean": sum(regrow.values()) / n,
            "steps": int(steps), "num_seeds": int(num_seeds)}
