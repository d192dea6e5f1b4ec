"""The diffusing NCA's evaluation: from noise to the target, then cut and regrow."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._errors import ConfigError
from ..._validation import check_int, refuse_options
from ._model import DiffusingNCA

EVAL_KEY = 20_251_203
"""Root of the evaluation's noise keys; the recipe draws its noise from ``PRNGKey(seed)``
folded with the step number, so evaluation noise is never a training draw."""
NOISE_LEVELS = (0.25, 0.5, 0.75, 1.0)


def evaluate(model: DiffusingNCA, *, data=None, steps: int | None = None, num_seeds: int = 32,
             seed: int = 0, **options: Any) -> dict[str, Any]:
    """Denoise ``num_seeds`` states of pure noise for ``steps`` steps (default: the number
    the model was trained with, ``model.steps``) and measure the RGBA mean squared error to
    the model's target (``mse_from_noise``); cut a disc of radius size/5 out of each result,
    run ``steps`` more steps and measure again (``mse_after_regrow``). Also the error from
    partial noise (``mse_by_noise``, levels 0.25-1). Noise keys derive from
    ``EVAL_KEY + seed``, never used in training."""
    refuse_options(options)
    if not isinstance(model, DiffusingNCA):
        raise ConfigError(f"evaluate expects a DiffusingNCA, got {type(model).__name__}")
    if not model.has_target():
        raise ConfigError("this DiffusingNCA has no target (a fresh model); train one or load a release")
    steps = check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=100_000)
    num_seeds = check_int("num_seeds", num_seeds, minimum=1, maximum=4096)
    seed = check_int("seed", seed, minimum=0)
    root = jax.random.PRNGKey(EVAL_KEY + seed)

    def mse(states):
        return float(jnp.mean((states[..., :4] - model.target) ** 2))

    by_noise, grown = {}, None
    for i, level in enumerate(NOISE_LEVELS):
        k_init, k_roll = jax.random.split(jax.random.fold_in(root, i))
        final = model.rollout(model.init_state(key=k_init, batch_size=num_seeds, noise=level), steps, key=k_roll)
        by_noise[str(level)] = mse(final)
        if level == 1.0:
            grown = final
    damaged = model.damage_state(grown)
    regrown = model.rollout(damaged, steps, key=jax.random.fold_in(root, len(NOISE_LEVELS)))
    return {"mse_from_noise": by_noise["1.0"], "mse_after_damage": mse(damaged),
            "mse_after_regrow": mse(regrown), "mse_by_noise": by_noise, "steps": int(steps),
            "num_seeds": int(num_seeds)}
