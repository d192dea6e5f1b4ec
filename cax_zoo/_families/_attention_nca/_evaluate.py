"""The attention NCA's evaluation: inpaint MNIST test digits with half their pixels hidden."""

from __future__ import annotations

import functools
import os
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ..._errors import ConfigError, DataError
from ..._training._batches import padded_batches
from ..._validation import MAX_STEPS, check_bool, check_float, check_int
from .._self_autoencoding_mnist._model import resize_digits
from ._model import AttentionNCA, visible_pixels

EVAL_KEY = 20_251_206
"""Root of the evaluation's keys: batch ``i`` draws its mask and which cells fire from
``fold_in(PRNGKey(EVAL_KEY + seed), i)``. The recipe's keys derive from its own seed."""


@eqx.filter_jit
def inpaint(model: AttentionNCA, digits: Float[Array, "B S S"], visible: Bool[Array, "B S S"],
            key: PRNGKeyArray, steps: int) -> Float[Array, "B S S"]:
    """Run ``steps`` steps from the masked ``digits`` (state ``i`` of the batch firing from
    ``split(key)[i]``) and return the digit channel, unclipped."""
    b = digits.shape[0]
    state = model.masked_state(digits, visible)

    def body(s, k):
        return jax.vmap(lambda x, kk: model.step(x, key=kk))(s, jax.random.split(k, b)), None

    final, _ = jax.lax.scan(body, state, jax.random.split(key, steps))
    return model.reconstruction(final)


def score_inpainting(model: AttentionNCA, grey: Float[np.ndarray, "N 28 28"], mean_image: Float[np.ndarray, "28 28"],
                     key: PRNGKeyArray, *, steps: int | None = None, mask_ratio: float | None = None,
                     batch_size: int = 500, progress: bool = False) -> dict[str, Any]:
    """Inpaint digits ``grey`` (28x28 in [0, 1], resized to the model's ``size``) in batches
    of ``batch_size``: batch ``i`` hides a share ``mask_ratio`` (default the model's) of
    its pixels and runs ``steps`` steps (default ``model.steps``), both drawn from
    ``fold_in(key, i)``. Returns ``masked_mse`` (mean squared error over every hidden
    pixel), ``baseline_masked_mse`` (the same with hidden pixels filled from
    ``mean_image``), ``mse`` (over every pixel), ``num_images``, ``steps``, ``mask_ratio``."""
    steps = check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    ratio = check_float("mask_ratio", model.mask_ratio if mask_ratio is None else mask_ratio,
                        minimum=0.0, maximum=1.0)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    grey = np.asarray(grey, np.float32)
    n = len(grey)
    if n == 0:
        raise DataError("no digits to evaluate")
    mean = np.asarray(resize_digits(np.asarray(mean_image, np.float32), model.size))
    hidden_sq, base_sq, all_sq, hidden_count = 0.0, 0.0, 0.0, 0
    for i, (part,), count in padded_batches(grey, batch_size=batch_size, progress=progress):
        digits = resize_digits(part, model.size)
        k_mask, k_run = jax.random.split(jax.random.fold_in(key, i))
        visible = visible_pixels(k_mask, digits.shape, ratio)
        rec = np.asarray(inpaint(model, digits, visible, k_run, steps))[:count]
        target, hidden = np.asarray(digits)[:count], ~np.asarray(visible)[:count]
        err = (rec - target) ** 2
        hidden_sq += float(err[hidden].sum())
        base_sq += float(((mean - target) ** 2)[hidden].sum())
        all_sq += float(err.sum())
        hidden_count += int(hidden.sum())
    return {
        "masked_mse": hidden_sq / hidden_count if hidden_count else 0.0,
        "baseline_masked_mse": base_sq / hidden_count if hidden_count else 0.0,
        "mse": all_sq / (n * model.size * model.size),
        "num_images": int(n),
        "steps": int(steps),
        "mask_ratio": float(ratio),
    }


@functools.lru_cache(maxsize=4)
def _mean_training_image(folder: str) -> np.ndarray:
    from ..._data._mnist import load_mnist

    images, _ = load_mnist("train", data=folder)
    return images.astype(np.float64).mean(axis=0).astype(np.float32) / 255.0


def mean_training_image(data: str | os.PathLike | None = None) -> Float[np.ndarray, "28 28"]:
    """The mean of the 60,000 MNIST training digits, in [0, 1]: the baseline's fill."""
    from ..._data._mnist import data_folder

    return _mean_training_image(str(data_folder(data))).copy()


def evaluate(
    model: AttentionNCA,
    *,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    limit: int | None = None,
    mask_ratio: float | None = None,
    batch_size: int = 500,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Inpaint the MNIST test set (10,000 digits; ``limit`` keeps the first ``limit``): each
    digit loses a share ``mask_ratio`` (default the model's, 0.5) of its pixels under a
    mask never drawn in training (keys from :data:`EVAL_KEY` and ``seed``), then the model
    runs ``steps`` steps (default ``model.steps``), with cells firing as in training. See
    :func:`score_inpainting` for the figures; the baseline fills hidden pixels from the
    mean training digit (:func:`mean_training_image`)."""
    from ..._data._mnist import load_mnist

    if not isinstance(model, AttentionNCA):
        raise ConfigError(f"evaluate expects an AttentionNCA, got {type(model).__name__}")
    seed = check_int("seed", seed, minimum=0, maximum=2**31 - 2 - EVAL_KEY)
    progress = check_bool("progress", progress)
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    if mask_ratio is not None:
        check_float("mask_ratio", mask_ratio, minimum=0.0, maximum=1.0)
    images, _ = load_mnist("test", data=data)
    if limit is not None:
        images = images[:limit]
    mean = mean_training_image(data)
    return score_inpainting(model, images.astype(np.float32) / 255.0, mean, jax.random.PRNGKey(EVAL_KEY + seed),
                            steps=steps, mask_ratio=mask_ratio, batch_size=batch_size, progress=progress)
