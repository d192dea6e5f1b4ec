"""The growing NCA's evaluation: grow from the seed, cut a disc out, regrow."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._errors import ConfigError, DataError
from ..._validation import check_int, refuse_options
from ._model import GrowingNCA
from ._targets import LIZARD, emoji_target, image_target, released_target


def evaluate(model: GrowingNCA, *, data=None, steps: int | None = None, target: Any = None,
             num_seeds: int = 8, seed: int = 0, target_size: int | None = None,
             padding: int | None = None, release: str | os.PathLike | None = None, **options: Any) -> dict[str, Any]:
    """Grow ``num_seeds`` runs from the seed for ``steps`` (default the model's
    ``default_steps``) steps and measure
    the RGBA mean squared error to ``target`` (default: the lizard emoji, read from the
    ``target.png`` of the ``release`` folder when it ships that target, so no emoji font
    is needed; or the image file ``target``); then cut a disc of radius size/5 out of the left half of each, let it
    regrow another ``steps`` steps and measure again."""
    refuse_options(options)
    if not isinstance(model, GrowingNCA):
        raise ConfigError(f"evaluate expects a GrowingNCA, got {type(model).__name__}")
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=100_000)
    num_seeds = check_int("num_seeds", num_seeds, minimum=1, maximum=4096)
    seed = check_int("seed", seed, minimum=0)
    pad = model.size * 2 // 9 if padding is None else check_int("padding", padding, minimum=0, maximum=model.size)
    size = model.size - 2 * pad if target_size is None else check_int("target_size", target_size, minimum=1,
                                                                        maximum=model.size)
    if target is None:
        target = released_target(release, char=LIZARD, size=size, padding=pad)
    if target is None:
        target = emoji_target(LIZARD, size=size, padding=pad)
    elif isinstance(target, (str, os.PathLike)):
        target = image_target(target, size=size, padding=pad)
    target = np.asarray(target, np.float32)
    if target.shape != (model.size, model.size, 4):
        raise DataError(f"target has shape {target.shape}, the model grows {model.size}x{model.size}x4")
    batch = model.init_state(batch_size=num_seeds)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    grown = model.rollout(batch, steps, key=k1)
    grow_loss = float(jnp.mean((grown[..., :4] - target) ** 2))
    damaged = model.damage_state(grown)
    damaged_loss = float(jnp.mean((damaged[..., :4] - target) ** 2))
    regrown = model.rollout(damaged, steps, key=k2)
    regrow_loss = float(jnp.mean((regrown[..., :4] - target) ** 2))
    return {"loss": grow_loss, "loss_after_damage": damaged_loss, "loss_after_regrow": regrow_loss,
            "steps": int(steps), "num_seeds": int(num_seeds)}
