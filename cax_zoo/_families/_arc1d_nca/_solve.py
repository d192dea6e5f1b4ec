"""Solving 1D-ARC tasks: per-task test-time training vmapped over groups of tasks, the
candidate outputs under colour permutations (and mirrored restarts), and the vote."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._data._arc1d import (
    NUM_COLOURS, Arc1DTask, canonicalise, introduced_colours, pad_pairs, random_colour_permutation,
)
from ..._data._arc1d import mirror as mirror_task
from ..._errors import ConfigError
from ..._validation import check_bool, check_choice, check_float, check_int
from ._model import Arc1DNCA, checked_contexts, logits
from ._ttt import ADAPT, pairs_loss
from ._ttt import adapt as adapt_model
from ._verify import demonstrated_invariants, verified_rows


def padded_length(n: int) -> int:
    """The padded length a grid of ``n`` cells is bucketed to (36 covers all but one task
    type of 1D-ARC; longer rows go to multiples of 48)."""
    return 36 if n <= 36 else 48 * math.ceil(n / 48)


def task_arrays(tasks: Sequence[Arc1DTask], length: int, *, num_perms: int = 32, seed: int = 0,
                augment: bool = True):
    """Stacked, padded arrays of ``tasks`` (all with the same number of train/test pairs)
    and ``num_perms`` colour permutations per task (identity first) that keep 0 and the
    colours the rule names (:func:`introduced_colours`): ``(xs, ys, masks, perms, test_xs,
    test_ys, test_masks)``."""
    rng = np.random.default_rng(seed)
    xs, ys, ms, ps, tx, ty, tm = [], [], [], [], [], [], []
    for t in tasks:
        a, b, m = pad_pairs(t.train, length)
        c, d, n = pad_pairs(t.test, length)
        fixed = introduced_colours(t)
        perms = [np.arange(NUM_COLOURS)]
        perms += [random_colour_permutation(rng, fixed) if augment else np.arange(NUM_COLOURS)
                  for _ in range(num_perms - 1)]
        xs.append(a), ys.append(b), ms.append(m), ps.append(np.stack(perms))
        tx.append(c), ty.append(d), tm.append(n)
    return tuple(np.stack(v) for v in (xs, ys, ms, ps, tx, ty, tm))


def _under_permutations(model: Arc1DNCA, x, mask, perms, steps: int):
    """Predictions ``(V, L)`` of row ``x`` under each colour permutation in ``perms``
    ``(V, 10)``, each mapped back to the original colours."""
    def under(perm):
        out = logits(model, perm[x], mask, steps)
        return jnp.argsort(perm)[jnp.argmax(out, -1)]

    return jax.vmap(under)(perms)


def shift_bias(model: Arc1DNCA, context: Float[Array, " F"]) -> Arc1DNCA:
    """``model`` with ``context`` added to its perception's bias: the rule of the task that
    context stands for (how the recipe trains task contexts)."""
    return eqx.tree_at(lambda m: m.perceive.bias, model, model.perceive.bias + context)


@eqx.filter_jit
def _demo_losses(model, contexts, xs, ys, masks, steps):
    """Loss of every context ``(K, F)`` on every task's demonstrations: ``(G, K)``."""
    def per_task(xs, ys, masks):
        return jax.vmap(lambda c: pairs_loss(shift_bias(model, c), xs, ys, masks, steps))(contexts)

    return jax.vmap(per_task)(xs, ys, masks)


@eqx.filter_jit
def _adapt_and_predict(model, xs, ys, masks, perms, tx, tmask, keys, steps, ttt_steps, lr, votes, per_step=1,
                       adapt="all", shifts=None):
    """vmapped over tasks: adapt to the demonstrations (from ``model`` with the task's row
    of ``shifts`` (G, F) added to its perception bias, if given), then predict the test
    inputs ``tx`` (T, L) under ``votes`` colour permutations. Returns candidates
    (G, T, V, L) and the final losses (G,)."""
    def one(xs, ys, masks, perms, tx, tmask, key, shift):
        start = model if shift is None else shift_bias(model, shift)
        tuned, losses = adapt_model(start, xs, ys, masks, perms, key, steps=steps, ttt_steps=ttt_steps, lr=lr,
                                    per_step=per_step, adapt=adapt)
        cands = jax.vmap(lambda x, m: _under_permutations(tuned, x, m, perms[:votes], steps))(tx, tmask)
        return cands, losses[-1] if ttt_steps > 0 else jnp.float32(jnp.nan)

    return jax.vmap(one, in_axes=(0, 0, 0, 0, 0, 0, 0, None if shifts is None else 0))(
        xs, ys, masks, perms, tx, tmask, keys, shifts)


def majority_row(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The most frequent row of ``rows`` (K, L) compared on ``mask`` (L,); ties go to the
    earliest."""
    rows = np.asarray(rows)
    same = np.all((rows[:, None, :] == rows[None, :, :]) | ~np.asarray(mask)[None, None, :], axis=-1)
    return rows[int(np.argmax(same.sum(axis=1)))]


def candidates(model: Arc1DNCA, tasks: Sequence[Arc1DTask], *, steps: int | None = None,
               ttt_steps: int | None = None, lr: float | None = None, group: int = 16, seed: int = 0,
               num_perms: int = 32, votes: int = 16, per_step: int = 1, restarts: int | None = None,
               canonical: bool = False, adapt: str | None = None, mirror: bool | None = None,
               contexts: Float[Array, "K F"] | np.ndarray | None = None,
               progress: bool = False) -> list[list[np.ndarray]]:
    """Every candidate test output of each task: one int array ``(restarts * votes, n)``
    per test pair (``n`` its real length), in the task's own colours and orientation.

    Per-task test-time training from ``model``'s weights (:func:`~cax_zoo.arc1d.adapt`),
    vmapped over groups of tasks; each fine-tuning predicts the test input under ``votes``
    colour permutations (the identity first; colours the rule names stay fixed);
    ``restarts`` independent fine-tunings (different random permutation draws) are stacked
    restart by restart. With ``mirror`` the odd-numbered restarts fine-tune on and predict
    the task's mirror image and their predictions are reversed back. With ``canonical``
    every pair's colours are first renamed in order of appearance and the predictions
    renamed back. With ``contexts`` ``(K, F)`` (default: the model's own, if it carries
    any; task contexts as the recipe learns them) each task's fine-tuning starts from the
    context whose rule fits its demonstrations best (lowest loss, identity permutation;
    :func:`shift_bias`) instead of from the plain model (a single zero context is the
    plain model). ``ttt_steps``, ``lr``, ``adapt``, ``restarts`` and ``mirror``
    default to the model's ``ttt_steps``, ``ttt_lr``, ``ttt_adapt``, ``ttt_restarts`` and
    ``ttt_mirror``."""
    if not isinstance(model, Arc1DNCA):
        raise ConfigError(f"candidates needs an Arc1DNCA, got {type(model).__name__}")
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=10_000)
    ttt_steps = check_int("ttt_steps", model.ttt_steps if ttt_steps is None else ttt_steps, minimum=0,
                          maximum=1_000_000)
    lr = check_float("lr", model.ttt_lr if lr is None else lr, minimum=0.0, open_minimum=True)
    adapt = check_choice("adapt", model.ttt_adapt if adapt is None else adapt, tuple(ADAPT))
    restarts = check_int("restarts", model.ttt_restarts if restarts is None else restarts, minimum=1, maximum=1024)
    mirror = check_bool("mirror", model.ttt_mirror if mirror is None else mirror)
    group = check_int("group", group, minimum=1, maximum=4096)
    seed = check_int("seed", seed, minimum=0)
    num_perms = check_int("num_perms", num_perms, minimum=1, maximum=4096)
    votes = check_int("votes", votes, minimum=1, maximum=num_perms)
    per_step = check_int("per_step", per_step, minimum=1, maximum=4096)
    canonical = check_bool("canonical", canonical)
    if contexts is None:
        contexts = model.contexts
    if contexts is not None:
        contexts = jnp.asarray(checked_contexts(contexts, model.features))
    originals, inverses = tasks, [[np.arange(NUM_COLOURS)] * len(t.test) for t in tasks]
    if canonical:
        pairs = [canonicalise(t) for t in tasks]
        tasks, inverses = [p[0] for p in pairs], [p[1] for p in pairs]
    buckets: dict[tuple, list[int]] = {}
    for i, t in enumerate(tasks):
        key = (padded_length(t.max_length), len(t.train), len(t.test))
        buckets.setdefault(key, []).append(i)
    out: list[list[np.ndarray] | None] = [None] * len(tasks)
    t0 = time.time()
    done = 0
    for (length, _, _), idx in sorted(buckets.items()):
        g = min(group, len(idx))
        for start in range(0, len(idx), g):
            chunk = idx[start : start + g]
            sel = [tasks[i] for i in chunk]
            sel = sel + [sel[-1]] * (g - len(sel))  # fixed group size: one compilation per bucket
            arrays = task_arrays(sel, length, num_perms=num_perms, seed=seed + start)
            mirrored = task_arrays([mirror_task(t) for t in sel], length, num_perms=num_perms,
                                   seed=seed + start) if mirror and restarts > 1 else None
            tm = arrays[6]
            found = []
            shifts = {}
            for r in range(restarts):
                flip = mirrored is not None and r % 2 == 1
                xs, ys, ms, ps, tx, _, _ = mirrored if flip else arrays
                if contexts is not None and flip not in shifts:
                    losses = _demo_losses(model, contexts, xs, ys, ms, steps)
                    shifts[flip] = contexts[jnp.argmin(losses, axis=1)]
                keys = jax.random.split(jax.random.PRNGKey(seed + start + 1000003 * r), g)
                c, _ = _adapt_and_predict(model, xs, ys, ms, ps, tx, tm, keys, steps, ttt_steps, lr, votes,
                                          per_step, adapt, shifts.get(flip))
                c = np.array(c)
                if flip:  # reverse each prediction's real cells back to the task's orientation
                    for j, t in enumerate(sel):
                        for k, (x, _) in enumerate(t.test):
                            c[j, k, :, : len(x)] = c[j, k, :, : len(x)][:, ::-1]
                found.append(c)
            found = np.concatenate(found, axis=2)  # (G, T, restarts * votes, L)
            for j, i in enumerate(chunk):
                out[i] = [inverses[i][k][found[j, k, :, : len(x)]] for k, (x, _) in enumerate(originals[i].test)]
            done += len(chunk)
            if progress:
                print(f"  solved {done}/{len(tasks)} tasks ({time.time() - t0:.0f}s)", flush=True)
    return out  # type: ignore[return-value]


def solve(model: Arc1DNCA, tasks: Sequence[Arc1DTask], *, verify: bool | None = None,
          **options) -> list[list[np.ndarray]]:
    """Predicted test outputs of each task (one int array per test pair, its real length):
    the most frequent whole row among its :func:`candidates` (ties go to the earliest:
    the first restart's identity permutation first). With ``verify`` (default the model's
    ``ttt_verify``) only candidates that keep every invariant the task's demonstrations
    keep (:func:`~cax_zoo.arc1d.demonstrated_invariants`) enter the vote, all of them when
    none does. ``options`` are those of :func:`candidates`."""
    if not isinstance(model, Arc1DNCA):
        raise ConfigError(f"solve needs an Arc1DNCA, got {type(model).__name__}")
    verify = check_bool("verify", model.ttt_verify if verify is None else verify)
    found = candidates(model, tasks, **options)
    out = []
    for task, per_task in zip(tasks, found):
        if verify:
            names = demonstrated_invariants(task.train)
            per_task = [verified_rows(c, x, names) for c, (x, _) in zip(per_task, task.test)]
        out.append([majority_row(c, np.ones(c.shape[1], bool)) for c in per_task])
    return out
