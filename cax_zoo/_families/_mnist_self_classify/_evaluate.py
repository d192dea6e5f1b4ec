"""The self-classifying MNIST evaluation on the MNIST test set (live-cell lists)."""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._errors import ConfigError, DataError
from ..._validation import MAX_STEPS, check_bool, check_choice, check_int
from ._model import SelfClassifyingMNIST
from ._sparse import live_cell_batch, sparse_rollout


def evaluate(
    model: SelfClassifyingMNIST,
    *,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    limit: int | None = None,
    batch_size: int = 500,
    seed: int = 0,
    split: str = "test",
    report_steps: tuple[int, ...] = (20, 50, 100, 200),
    progress: bool = False,
) -> dict[str, Any]:
    """Score the MNIST test set (10,000 digits; ``limit`` keeps the first ``limit``).

    Returns ``accuracy`` (majority vote of live cells after ``steps``, default the model's
    ``default_steps``), ``pixel_accuracy`` (fraction of live cells voting right at that
    step) and ``accuracy_by_step`` / ``pixel_accuracy_by_step`` at steps 20, 50, 100, 200
    (and ``steps``). Runs on live cells only (the same rule as :meth:`step`)."""
    from ..._data._mnist import load_mnist

    if not isinstance(model, SelfClassifyingMNIST):
        raise ConfigError(f"evaluate expects a SelfClassifyingMNIST model, got {type(model).__name__}")
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0)
    split = check_choice("split", split, ("train", "test"))
    progress = check_bool("progress", progress)
    if isinstance(report_steps, (str, bytes)) or not hasattr(report_steps, "__iter__"):
        raise ConfigError(f"report_steps must be a list of step counts, got {report_steps!r}")
    report_steps = [check_int("report_steps", s, minimum=1, maximum=MAX_STEPS) for s in report_steps]
    images, labels = load_mnist(split, data=data)
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
        images, labels = images[:limit], labels[:limit]
    if len(images) == 0:
        raise DataError("no digits to evaluate")
    checkpoints = sorted(set(report_steps) | {steps})
    horizon = max(checkpoints)
    live = (images.astype(np.float32) / 255.0 > model.alive_threshold).sum((1, 2))
    order = np.argsort(live, kind="stable")
    n = len(images)
    correct = {s: 0 for s in checkpoints}
    pix_right = {s: 0 for s in checkpoints}
    total_live = int(live.sum())
    key = jax.random.PRNGKey(seed)
    batch_size = min(batch_size, n)
    starts = range(0, n, batch_size)
    iterator = starts
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(starts, desc="evaluate", unit="batch")
    for bi, start in enumerate(iterator):
        idx = order[start : start + batch_size]
        pad = batch_size - len(idx)
        idx_p = np.concatenate([idx, np.repeat(idx[-1:], pad)]) if pad else idx
        length = max(32, int(math.ceil(live[idx_p].max() / 32) * 32))
        nbr, ng, valid = live_cell_batch(images[idx_p], model.alive_threshold, length)
        counts, right = sparse_rollout(model, jnp.asarray(nbr), jnp.asarray(ng), jnp.asarray(valid),
                                       jnp.asarray(labels[idx_p].astype(np.int32)),
                                       jax.random.fold_in(key, bi), horizon)
        counts, right = np.asarray(counts)[:, : len(idx)], np.asarray(right)[:, : len(idx)]
        for s in checkpoints:
            c = counts[s - 1]
            pred = np.where(c.sum(-1) > 0, np.argmax(c, -1), -1)
            correct[s] += int((pred == labels[idx]).sum())
            pix_right[s] += int(right[s - 1].sum())
    return {
        "accuracy": correct[steps] / n,
        "pixel_accuracy": pix_right[steps] / max(1, total_live),
        "steps": int(steps),
        "num_images": n,
        "accuracy_by_step": {str(s): correct[s] / n for s in checkpoints},
        "pixel_accuracy_by_step": {str(s): pix_right[s] / max(1, total_live) for s in checkpoints},
    }
