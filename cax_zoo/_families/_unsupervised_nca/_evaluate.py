"""The unsupervised NCA's evaluation on the MNIST test set: how close the digit grown from
its encoding comes to the digit, against predicting the mean training digit."""

from __future__ import annotations

import os
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._errors import ConfigError, DataError
from ..._training._batches import padded_batches
from ..._validation import MAX_STEPS, check_bool, check_int
from ._model import UnsupervisedNCA

EVAL_KEY = 20_251_207
"""Root of the evaluation's keys (which cells fire): batch ``i`` draws from
``fold_in(PRNGKey(EVAL_KEY + seed), i)``. The recipe's keys come from its own seed."""
NUM_TRAINING = 55_000
"""The MNIST training digits the recipe trains on (the first 55,000; the last 5,000 are
its validation digits): the baseline predicts their mean."""
MNIST_SIDE = 28


@eqx.filter_jit
def squared_errors(model: UnsupervisedNCA, digits: Float[Array, "B S S"], key: PRNGKeyArray,
                   steps: int) -> Float[Array, " B"]:
    """Per digit, the mean squared error between ``digits`` (grey 0-1) and the last channel
    grown in ``steps`` steps from the mean of their encoding (cell ``i`` of the batch
    firing from ``split(key)[i]``)."""
    mean, _ = model.encode(digits)
    grown = model.decode(mean, key=key, steps=steps)
    return jnp.mean((grown - digits) ** 2, axis=(-2, -1))


def mean_training_digit(data: str | os.PathLike | None = None) -> np.ndarray:
    """The mean of the first 55,000 MNIST training digits, ``(28, 28)`` float 0-1."""
    from ..._data._mnist import load_mnist

    images, _ = load_mnist("train", data=data)
    return images[:NUM_TRAINING].astype(np.float64).mean(axis=0).astype(np.float32) / 255.0


def evaluate(
    model: UnsupervisedNCA,
    *,
    data: str | os.PathLike | None = None,
    num_images: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    batch_size: int = 250,
    limit: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score the MNIST test set (10,000 digits; ``num_images`` keeps the first ones;
    ``limit`` is the same, as ``cax-zoo eval --limit`` passes it).

    Each digit is encoded (the latent's mean: deterministic) and grown from the seed for
    ``steps`` steps (default: the number the model was trained for, ``model.steps``), in
    jitted batches of ``batch_size``, cells firing from keys derived from
    :data:`EVAL_KEY` and ``seed``. Returns ``mse`` (mean over digits of the per-pixel
    squared error of the grown last channel, unclipped, to the digit), ``baseline_mse``
    (the same for the mean of the 55,000 training digits the recipe trains on, predicted
    for every digit), ``num_images`` and ``steps``.
    """
    from ..._data._mnist import load_mnist

    if not isinstance(model, UnsupervisedNCA):
        raise ConfigError(f"evaluate expects an UnsupervisedNCA, got {type(model).__name__}")
    if model.size != MNIST_SIDE:
        raise ConfigError(f"the MNIST evaluation needs a model of size {MNIST_SIDE}, got size {model.size}")
    steps = check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0, maximum=2**31 - 1 - EVAL_KEY)
    progress = check_bool("progress", progress)
    if num_images is not None and limit is not None and num_images != limit:
        raise ConfigError(f"num_images ({num_images}) and limit ({limit}) disagree; give one")
    count = num_images if num_images is not None else limit
    if count is not None:
        count = check_int("num_images", count, minimum=1)
    images, _ = load_mnist("test", data=data)
    mean_digit = mean_training_digit(data)
    if count is not None:
        images = images[:count]
    n = len(images)
    if n == 0:
        raise DataError("no digits to evaluate")
    root = jax.random.PRNGKey(EVAL_KEY + seed)
    grey = images.astype(np.float32) / 255.0
    baseline = float(np.mean((grey - mean_digit) ** 2))
    sq_err = 0.0
    for i, (batch,), k in padded_batches(grey, batch_size=batch_size, progress=progress):
        errs = squared_errors(model, jnp.asarray(batch), jax.random.fold_in(root, i), steps)
        sq_err += float(jnp.sum(errs[:k]))
    return {"mse": sq_err / n, "baseline_mse": baseline, "num_images": int(n), "steps": int(steps)}
