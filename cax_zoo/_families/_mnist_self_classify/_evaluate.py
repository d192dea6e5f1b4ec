"""The self-classifying MNIST evaluation on the MNIST test set, measured as the Distill
article measures it: per-cell accuracy and total agreement, besides the majority vote."""

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
from ._packed import batch_fire_masks, pack_digits, packed_rollout

REPORT_STEPS = (20, 50, 65, 80, 100, 200)
"""The steps reported by default: the article's best step (65), its final one (200) and
the model's default (100), with a few between."""


def evaluate(
    model: SelfClassifyingMNIST,
    *,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    limit: int | None = None,
    start: int = 0,
    batch_size: int = 500,
    seed: int = 0,
    split: str = "test",
    report_steps: tuple[int, ...] = REPORT_STEPS,
    chunk_cells: int = 32768,
    progress: bool = False,
) -> dict[str, Any]:
    """Score the MNIST test set (10,000 digits; ``limit`` keeps the first ``limit``), or
    with ``split="train"`` the training set (60,000). ``start`` skips the first ``start``
    digits of the split (then ``limit`` counts from there): the recipe's validation split
    is ``split="train", start=60000 - val_size``, the last training digits it never
    trains on.

    A digit's *live* cells are its pixels with grey level (0-1) above the model's
    ``alive_threshold``, the cells that update and vote. Returns, after ``steps`` (default
    the model's ``default_steps``) and, in ``*_by_step``, at each of ``report_steps``
    (default 20, 50, 65, 80, 100, 200) and ``steps``:

    - ``accuracy``: fraction of digits whose live cells' majority vote is the label
      (ties to the smaller class; a digit without live cells counts as wrong);
    - ``pixel_accuracy``: fraction of all live cells, over all digits, voting the label
      (the article's mean per-cell accuracy);
    - ``agreement``: fraction of digits where every live cell votes the label (the
      article's total agreement; a digit without live cells does not agree).

    The cells fire at random as in a rollout of padded batches of ``batch_size`` digits
    sorted by their number of live cells, from ``seed`` (so the figures depend on both);
    the work itself runs on chunks of ``chunk_cells`` packed live cells, computing only
    the cells that fire. A model with ``residual_noise`` > 0 is evaluated with its noise
    (as the article evaluates its L2 model), drawn from ``seed`` too."""
    from ..._data._mnist import load_mnist

    if not isinstance(model, SelfClassifyingMNIST):
        raise ConfigError(f"evaluate expects a SelfClassifyingMNIST model, got {type(model).__name__}")
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=MAX_STEPS)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0)
    split = check_choice("split", split, ("train", "test"))
    chunk_cells = check_int("chunk_cells", chunk_cells, minimum=1024, maximum=1 << 22)
    progress = check_bool("progress", progress)
    if isinstance(report_steps, (str, bytes)) or not hasattr(report_steps, "__iter__"):
        raise ConfigError(f"report_steps must be a list of step counts, got {report_steps!r}")
    report_steps = [check_int("report_steps", s, minimum=1, maximum=MAX_STEPS) for s in report_steps]
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    start = check_int("start", start, minimum=0, maximum=60_000)
    images, labels = load_mnist(split, data=data)
    if start >= len(images):
        raise ConfigError(f"start must be below the {len(images)} digits of the {split} split, got {start}")
    images, labels = images[start:], labels[start:]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if len(images) == 0:
        raise DataError("no digits to evaluate")
    checkpoints = sorted(set(report_steps) | {steps})
    horizon = max(checkpoints)
    n = len(images)
    live = (images.astype(np.float32) / 255.0 > model.alive_threshold).sum((1, 2))
    order = np.argsort(live, kind="stable")
    images, labels, live = images[order], labels[order].astype(np.int64), live[order]
    batch_size = min(batch_size, n)
    fire = _FireSource(model, jax.random.PRNGKey(seed), live, batch_size, horizon)

    chunk_cells = min(chunk_cells, max(1024, -(-int(live.sum()) // 1024) * 1024))  # small sets: one small chunk
    num_digits = max(1, chunk_cells // 32)
    sigma = math.sqrt(chunk_cells * model.fire_rate * (1.0 - model.fire_rate))
    capacity = min(chunk_cells, int(math.ceil(chunk_cells * model.fire_rate + 8 * sigma)) + 64)
    correct = {s: 0 for s in checkpoints}
    pix_right = {s: 0 for s in checkpoints}
    agree = {s: 0 for s in checkpoints}

    def tally(chunk, counts):
        counts = np.asarray(counts)[:, : chunk.count]
        lab = labels[chunk.first : chunk.first + chunk.count]
        n_live = live[chunk.first : chunk.first + chunk.count]
        for s in checkpoints:
            c = counts[s - 1]
            pred = np.where(c.sum(-1) > 0, np.argmax(c, -1), -1)
            right = c[np.arange(len(lab)), lab]
            correct[s] += int((pred == lab).sum())
            pix_right[s] += int(right.sum())
            agree[s] += int(((right == n_live) & (n_live > 0)).sum())

    chunks = pack_digits(images, model.alive_threshold, chunk_cells, num_digits)
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="evaluate", unit="chunk")
    pending = None
    # the residual noise's keys: one per chunk, apart from the firing's fold_in(key, batch)
    noise_base = jax.random.split(jax.random.PRNGKey(seed))[1] if model.residual_noise > 0 else None
    for ci, chunk in enumerate(chunks):
        noise_key = None if noise_base is None else jax.random.fold_in(noise_base, ci)
        counts = packed_rollout(model, jnp.asarray(chunk.nbr), jnp.asarray(chunk.nbr_grey),
                                jnp.asarray(chunk.digit), jnp.asarray(fire.chunk(chunk)), num_digits, capacity,
                                noise_key)
        if pending is not None:  # tally the previous chunk while this one runs
            tally(*pending)
        pending = (chunk, counts)
    tally(*pending)
    total_live = max(1, int(live.sum()))
    return {
        "accuracy": correct[steps] / n,
        "pixel_accuracy": pix_right[steps] / total_live,
        "agreement": agree[steps] / n,
        "steps": int(steps),
        "num_images": n,
        "accuracy_by_step": {str(s): correct[s] / n for s in checkpoints},
        "pixel_accuracy_by_step": {str(s): pix_right[s] / total_live for s in checkpoints},
        "agreement_by_step": {str(s): agree[s] / n for s in checkpoints},
    }


class _FireSource:
    """The firing of every live cell of digits sorted by live count, drawn per padded batch
    of ``batch_size`` digits exactly as :func:`~cax_zoo.mnist.sparse_rollout` draws it
    (batch ``i`` from ``fold_in(key, i)``, list length a multiple of 32)."""

    def __init__(self, model: SelfClassifyingMNIST, key, live: np.ndarray, batch_size: int, horizon: int):
        self.model, self.key, self.live, self.batch_size, self.horizon = model, key, live, batch_size, horizon
        self._cache: dict[int, np.ndarray] = {}

    def _batch(self, bi: int) -> np.ndarray:
        if bi not in self._cache:
            self._cache = {b: f for b, f in self._cache.items() if b > bi}  # chunks move forward
            batch_live = self.live[bi * self.batch_size : (bi + 1) * self.batch_size]
            length = max(32, int(math.ceil(batch_live.max() / 32) * 32))
            if self.model.fire_rate >= 1.0:  # the rule then updates every cell
                masks = np.ones((self.horizon, self.batch_size, length), bool)
            else:
                masks = np.asarray(batch_fire_masks(jax.random.fold_in(self.key, bi), num_steps=self.horizon,
                                                    batch_size=self.batch_size, length=length,
                                                    fire_rate=self.model.fire_rate,
                                                    noisy=self.model.residual_noise > 0))
            self._cache[bi] = masks
        return self._cache[bi]

    def chunk(self, chunk) -> np.ndarray:
        """``(T, N)`` bool: whether each cell of ``chunk`` fires at steps 1..T (padding never)."""
        out = np.zeros((self.horizon, len(chunk.digit)), bool)
        cells = np.nonzero(chunk.digit < chunk.count)[0]
        sorted_index = chunk.first + chunk.digit[cells]
        batch, local = np.divmod(sorted_index, self.batch_size)
        for bi in np.unique(batch):
            sel = batch == bi
            out[:, cells[sel]] = self._batch(int(bi))[:, local[sel], chunk.position[cells[sel]]]
        return out
