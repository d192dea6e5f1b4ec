"""The self-autoencoding MNIST evaluation on the MNIST test set: how close the far face
comes to the digit, and whether the zoo's self-classifying CA can read the result."""

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
from .._mnist_self_classify._images import SIDE
from ._model import SelfAutoencodingMNIST, resize_digits

EVAL_KEY = 20_251_204
"""Root of the evaluation's keys (which cells fire): batch ``i`` of the autoencoder draws
from ``fold_in(PRNGKey(EVAL_KEY + seed), i)``, the classifier's from
``fold_in(PRNGKey(EVAL_KEY + seed + 1), i)``. The recipe's keys come from its own seed."""
CLASSIFIER = "mnist_self_classify"


@eqx.filter_jit
def reconstruct(model: SelfAutoencodingMNIST, digits: Float[Array, "B S S"], key: PRNGKeyArray,
                steps: int) -> Float[Array, "B S S"]:
    """Write ``digits`` (grey 0-1 at the model's resolution) on the face ``z = 0`` of fresh
    states, run ``steps`` steps (cell ``i`` of the batch firing from ``split(key)[i]``) and
    return the far faces' last channel, unclipped."""
    b = digits.shape[0]
    state = jnp.zeros(digits.shape + (model.depth, model.num_channels), jnp.float32)
    state = state.at[..., 0, -1].set(digits)

    def body(s, k):
        return jax.vmap(lambda x, kk: model.step(x, key=kk))(s, jax.random.split(k, b)), None

    final, _ = jax.lax.scan(body, state, jax.random.split(key, steps))
    return model.reconstruction(final)


def upsample(images: Float[Array, "B S S"]) -> np.ndarray:
    """Reconstructions at the model's resolution -> 28x28 (bilinear), clipped to [0, 1]:
    what the MNIST classifier reads."""
    x = jnp.asarray(images, jnp.float32)
    if x.shape[-2:] != (SIDE, SIDE):
        x = jax.image.resize(x, x.shape[:-2] + (SIDE, SIDE), method="linear")
    return np.asarray(jnp.clip(x, 0.0, 1.0))


def evaluate(
    model: SelfAutoencodingMNIST,
    *,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    limit: int | None = None,
    batch_size: int = 250,
    seed: int = 0,
    classifier: Any = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score the MNIST test set (10,000 digits; ``limit`` keeps the first ``limit``).

    Each digit is resized to the model's ``image_size`` (bilinear, antialiased when
    smaller), written on the face ``z = 0`` of a fresh state and run ``steps`` steps
    (default: the number the model was trained for, ``model.steps``), in batches of
    ``batch_size`` with cell firing drawn from keys derived from :data:`EVAL_KEY` and
    ``seed``. Returns:

    - ``mse``: mean over digits of the mean squared error between the far face's last
      channel (unclipped) and the digit, at the model's resolution;
    - ``classifier_accuracy``: the accuracy of the zoo's released ``mnist_self_classify``
      (or ``classifier``) on the reconstructions, upsampled to 28x28 (bilinear) and
      clipped to [0, 1], after its default number of steps (``classifier_steps``);
    - ``classifier_accuracy_on_originals``: the same classifier (the same keys) on the
      digits as the model receives them, upsampled like the reconstructions: what a perfect
      reconstruction would score (at ``image_size`` 28, the digits themselves);
    - ``num_images``, ``steps``, ``image_size``, ``classifier_steps``.
    """
    from ..._data._mnist import load_mnist
    from .._mnist_self_classify._model import SelfClassifyingMNIST
    from ..._pretrained import load

    if not isinstance(model, SelfAutoencodingMNIST):
        raise ConfigError(f"evaluate expects a SelfAutoencodingMNIST model, got {type(model).__name__}")
    steps = check_int("steps", model.steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0, maximum=2**31 - 2 - EVAL_KEY)
    progress = check_bool("progress", progress)
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    if classifier is None:
        classifier = load(CLASSIFIER)
    if not isinstance(classifier, SelfClassifyingMNIST):
        raise ConfigError(f"classifier must be a SelfClassifyingMNIST, got {type(classifier).__name__}")
    images, labels = load_mnist("test", data=data)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    n = len(images)
    if n == 0:
        raise DataError("no digits to evaluate")
    root, clf_root = jax.random.PRNGKey(EVAL_KEY + seed), jax.random.PRNGKey(EVAL_KEY + seed + 1)
    sq_err, right, right_orig = 0.0, 0, 0
    for i, (part, lab), count in padded_batches(images, labels, batch_size=batch_size, progress=progress):
        grey, lab = part.astype(np.float32) / 255.0, lab.astype(np.int64)
        digits = resize_digits(grey, model.image_size)
        rec = reconstruct(model, digits, jax.random.fold_in(root, i), steps)
        sq_err += float(jnp.sum(jnp.mean((rec - digits) ** 2, axis=(-2, -1))[:count]))
        k = jax.random.fold_in(clf_root, i)
        right += int((classifier.classify(upsample(rec), key=k)[:count] == lab).sum())
        right_orig += int((classifier.classify(upsample(digits), key=k)[:count] == lab).sum())
    return {
        "mse": sq_err / n,
        "classifier_accuracy": right / n,
        "classifier_accuracy_on_originals": right_orig / n,
        "num_images": int(n),
        "steps": int(steps),
        "image_size": int(model.image_size),
        "classifier_steps": int(classifier.default_steps),
    }
