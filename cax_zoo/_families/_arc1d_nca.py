"""A 1-D neural CA that solves 1D-ARC tasks by test-time training on their demonstrations.

Each task of 1D-ARC (Xu et al. 2023) gives three demonstration pairs (input row -> output
row, same length) and a test input. A cell of the NCA holds the one-hot colour of the input
(10 channels, fixed), a validity mask (1 channel, fixed: 0 on padding) and ``hidden``
channels whose first 10 are the logits of the output colour. The rule reads a window of
``2 * radius + 1`` cells (and optionally the cells at the distances in ``far``, and with
``pooled`` the mean state of the row's real cells, the same for every cell), a
dense perception layer + ReLU and a zero-initialised output
layer (residual update); it runs ``default_steps`` steps from zero hidden channels.

As in CAX's 1D-ARC experiment (Faldor & Cully 2025) the cells learn a task from its
demonstrations: :func:`solve` fine-tunes a copy of the NCA per task on the task's
demonstration pairs (Adam, ``ttt_steps`` steps, colour-permutation augmentation that
keeps the colours the rule names), vmapped over tasks and jitted once per padded length,
then rolls the test input out and reads ``argmax`` of the logits. The released weights
are the *initialisation* of that fine-tuning: one NCA trained on every pair of the
training instances of all task types, with a learned per-task context (a shift of the
first-layer bias) during that training (``recipes/arc1d_nca.py``). ``ttt_steps``,
``ttt_lr``, ``ttt_adapt``, ``ttt_restarts`` and ``ttt_mirror`` (odd restarts solve the
mirror image of the task, every grid reversed, and reverse their predictions back) are the
model's preferred test-time-training settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import ConfigError, DataError, StateError
from .._grid import AbstractGridAutomaton
from .._registry import register
from .._data._arc1d_baselines import (
    CAX_NCA_OVERALL, CAX_NCA_PER_TYPE, GPT4_OVERALL, GPT4_PER_TYPE, SOURCES,
)
from .._data._arc1d import (
    NUM_COLOURS, TASK_TYPES, Arc1DTask, canonicalise, introduced_colours, load_arc1d, pad_pairs,
    random_colour_permutation,
)
from .._data._arc1d import mirror as mirror_task

FIXED = NUM_COLOURS + 1  # input one-hot + validity mask

ARC_COLOURS = np.array(
    [[0, 0, 0], [0, 116, 217], [255, 65, 54], [46, 204, 64], [255, 220, 0], [170, 170, 170],
     [240, 18, 190], [255, 133, 27], [127, 219, 255], [135, 12, 37]], np.uint8)
"""ARC's colour palette for colours 0-9."""

ADAPT = {"all": (True, True, True, True), "bias": (False, True, False, True)}
"""Which of ``(w1, b1, w2, b2)`` test-time training changes: every weight, or only the
biases (the task then lives in a per-task shift of the rule's biases)."""



@register(
    "arc1d_nca",
    description="1-D neural CA for 1D-ARC: pretrained on all training tasks, fine-tuned on each task's demonstrations at test time",
    paper="Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025); 1D-ARC: Xu et al. 2023",
    tags=("neural", "1d", "arc", "reasoning"),
    recipe="recipes.arc1d_nca",
    evaluate=lambda model, **kw: evaluate(model, **kw),
)
class Arc1DNCA(AbstractGridAutomaton):
    """1-D NCA for 1D-ARC. State ``(L, 11 + hidden)`` float32: input one-hot (10), mask
    (1), hidden channels (the first 10 are output-colour logits)."""

    hidden: int = eqx.field(static=True)
    features: int = eqx.field(static=True)
    radius: int = eqx.field(static=True)
    far: tuple[int, ...] = eqx.field(static=True)
    pooled: bool = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    ttt_steps: int = eqx.field(static=True)
    ttt_lr: float = eqx.field(static=True)
    ttt_adapt: str = eqx.field(static=True)
    ttt_restarts: int = eqx.field(static=True)
    ttt_mirror: bool = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    w1: Float[Array, "F K"]
    b1: Float[Array, " F"]
    w2: Float[Array, "H F"]
    b2: Float[Array, " H"]

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(self, *, hidden: int = 24, features: int = 64, radius: int = 2,
                 far: Sequence[int] = (), pooled: bool = False, default_steps: int = 24, ttt_steps: int = 150,
                 ttt_lr: float = 3e-3, ttt_adapt: str = "all", ttt_restarts: int = 2,
                 ttt_mirror: bool = False, key: PRNGKeyArray | None = None):
        for name, v, lo in (("hidden", hidden, NUM_COLOURS), ("features", features, 1),
                            ("radius", radius, 1), ("default_steps", default_steps, 1), ("ttt_steps", ttt_steps, 1),
                            ("ttt_restarts", ttt_restarts, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        if isinstance(ttt_lr, bool) or not isinstance(ttt_lr, (int, float)) or not 0 < ttt_lr < 1:
            raise ConfigError(f"ttt_lr must be a number in (0, 1), got {ttt_lr!r}")
        if ttt_adapt not in ADAPT:
            raise ConfigError(f"ttt_adapt must be one of {sorted(ADAPT)}, got {ttt_adapt!r}")
        if not isinstance(pooled, bool):
            raise ConfigError(f"pooled must be true or false, got {pooled!r}")
        self.pooled = pooled
        if not isinstance(ttt_mirror, bool):
            raise ConfigError(f"ttt_mirror must be true or false, got {ttt_mirror!r}")
        self.ttt_mirror = ttt_mirror
        self.ttt_steps, self.ttt_lr, self.ttt_adapt = ttt_steps, float(ttt_lr), ttt_adapt
        self.ttt_restarts = ttt_restarts
        far = tuple(far)
        if any(isinstance(d, bool) or not isinstance(d, int) or d <= radius for d in far):
            raise ConfigError(f"far must hold integer distances > radius ({radius}), got {list(far)}")
        self.hidden, self.features, self.radius, self.default_steps = hidden, features, radius, default_steps
        self.far = far
        self.num_spatial_dims = 1
        self.num_channels = c = FIXED + hidden
        key = jax.random.PRNGKey(0) if key is None else key
        k = (2 * radius + 1 + 2 * len(far) + int(pooled)) * c
        lim = math.sqrt(6.0 / (k + features))
        self.w1 = jax.random.uniform(key, (features, k), jnp.float32, -lim, lim)
        self.b1 = jnp.zeros((features,), jnp.float32)
        self.w2 = jnp.zeros((hidden, features), jnp.float32)
        self.b2 = jnp.zeros((hidden,), jnp.float32)

    def config(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "features": self.features, "radius": self.radius,
                "far": list(self.far), "pooled": self.pooled, "default_steps": self.default_steps, "ttt_steps": self.ttt_steps,
                "ttt_lr": self.ttt_lr, "ttt_adapt": self.ttt_adapt, "ttt_restarts": self.ttt_restarts,
                "ttt_mirror": self.ttt_mirror}

    # ------------------------------------------------------------------ the rule
    def step(self, state: Float[Array, "L C"], input=None, *, key: PRNGKeyArray | None = None):
        r = self.radius
        length = state.shape[0]
        offsets = [*range(-r, r + 1), *(-d for d in self.far), *self.far]
        reach = max(abs(o) for o in offsets)
        padded = jnp.pad(state, ((reach, reach), (0, 0)))
        parts = [padded[reach + o : reach + o + length] for o in offsets]
        mask = state[:, NUM_COLOURS : NUM_COLOURS + 1]
        if self.pooled:  # the row's mean state over its real cells: padding-length invariant
            mean = jnp.sum(state * mask, axis=0) / jnp.maximum(jnp.sum(mask), 1.0)
            parts.append(jnp.broadcast_to(mean, state.shape))
        window = jnp.concatenate(parts, axis=-1)
        h = jax.nn.relu(window @ self.w1.T + self.b1)
        delta = h @ self.w2.T + self.b2
        return state.at[:, FIXED:].add(delta * mask)

    # ------------------------------------------------------------------ states
    def initial_state(self, rows: Any, mask: Any = None) -> Float[Array, "*B L C"]:
        """States for colour rows ``(L,)`` or ``(B, L)`` (ints 0-9); ``mask`` (same shape,
        bool) marks real cells (default all); hidden channels zero."""
        x = np.asarray(rows)
        if x.ndim not in (1, 2) or x.size == 0 or x.dtype.kind not in "iu":
            raise StateError(f"arc1d_nca expects integer colour rows (L,) or (B, L), got {x.dtype} {x.shape}")
        if x.min() < 0 or x.max() >= NUM_COLOURS:
            raise StateError(f"colours must be in 0-9, got {int(x.min())}..{int(x.max())}")
        m = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
        return _initial(jnp.asarray(x, jnp.int32), jnp.asarray(m), self.hidden)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None):
        """A random 1D-ARC-like row: a block of one colour on background (``size`` cells,
        default 32)."""
        (n,) = self.spatial_shape(size, 32)
        rng = np.random.default_rng(None if key is None else int(jax.random.randint(key, (), 0, 2**31 - 1)))
        row = np.zeros(n, np.int32)
        a = int(rng.integers(0, max(1, n - 3)))
        row[a : a + int(rng.integers(1, max(2, n - a)))] = int(rng.integers(1, 10))
        return self.initial_state(row)

    def predict_row(self, state) -> np.ndarray:
        """Output colours ``(..., L)``: argmax of the logits (-1 on padding)."""
        s = np.asarray(jax.device_get(state))
        out = np.argmax(s[..., FIXED : FIXED + NUM_COLOURS], axis=-1)
        return np.where(s[..., NUM_COLOURS] > 0.5, out, -1)

    def render(self, state) -> np.ndarray:
        """Two rows: the input colours over the predicted output colours (ARC palette)."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 2:
            raise StateError(f"render takes one unbatched state (L, C), got shape {s.shape}")
        x = np.argmax(s[:, :NUM_COLOURS], -1)
        y = np.maximum(self.predict_row(s), 0)
        return ARC_COLOURS[np.stack([x, y])]

    def render_trajectory(self, trajectory) -> list[np.ndarray]:
        """One space-time diagram: the input row, then the predicted output at each
        sampled time (top to bottom)."""
        s = np.asarray(jax.device_get(trajectory), np.float32)
        if s.ndim != 3:
            raise StateError(f"render_trajectory takes one unbatched trajectory (T, L, C), got shape {s.shape}")
        x = np.argmax(s[0, :, :NUM_COLOURS], -1)
        y = np.maximum(self.predict_row(s), 0)
        return [ARC_COLOURS[np.concatenate([x[None], y])]]


def _initial(x, mask, hidden):
    onehot = jax.nn.one_hot(x, NUM_COLOURS, dtype=jnp.float32)
    m = mask.astype(jnp.float32)[..., None]
    return jnp.concatenate([onehot * m, m, jnp.zeros(x.shape + (hidden,), jnp.float32)], axis=-1)


# ---------------------------------------------------------------- functional core
def _params(model: Arc1DNCA):
    return (model.w1, model.b1, model.w2, model.b2)


def _with_params(model: Arc1DNCA, p) -> Arc1DNCA:
    return eqx.tree_at(lambda m: (m.w1, m.b1, m.w2, m.b2), model, tuple(p))


def _logits(model: Arc1DNCA, p, x, mask, steps: int):
    """Logits ``(L, 10)`` after ``steps`` steps from colour row ``x`` (L,) int."""
    m = _with_params(model, p)
    s = _initial(x, mask, model.hidden)
    s = jax.lax.fori_loop(0, steps, lambda _, s: m.step(s), s)
    return s[:, FIXED : FIXED + NUM_COLOURS]


def _pairs_loss(model, p, xs, ys, masks, steps):
    logits = jax.vmap(lambda x, m: _logits(model, p, x, m, steps))(xs, masks)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, ys)
    w = masks.astype(jnp.float32)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)


def _adapt(model, p0, xs, ys, masks, perms, key, *, steps, ttt_steps, lr, per_step=1, adapt="all"):
    """Fine-tune params ``p0`` on one task's demonstrations ``xs, ys, masks`` (N, L) with
    ``per_step`` colour permutations drawn from ``perms`` (P, 10) at each Adam step;
    ``adapt`` names the parameters that change (:data:`ADAPT`)."""
    keep = ADAPT[adapt]
    opt = optax.adam(lr)
    state = opt.init(p0)
    n, length = xs.shape

    def body(carry, k):
        p, st = carry
        perm = perms[jax.random.randint(k, (per_step,), 0, perms.shape[0])]  # (S, 10)
        bx = jax.vmap(lambda q: q[xs])(perm).reshape(per_step * n, length)
        by = jax.vmap(lambda q: q[ys])(perm).reshape(per_step * n, length)
        bm = jnp.tile(masks, (per_step, 1))
        loss, g = jax.value_and_grad(lambda q: _pairs_loss(model, q, bx, by, bm, steps))(p)
        g = tuple(a / (jnp.sqrt(jnp.sum(a * a)) + 1e-8) if k else jnp.zeros_like(a) for a, k in zip(g, keep))
        upd, st = opt.update(g, st, p)
        return (optax.apply_updates(p, upd), st), loss

    (p, _), losses = jax.lax.scan(body, (p0, state), jax.random.split(key, ttt_steps))
    return p, losses


def _candidates(model, p, x, mask, perms, steps):
    """Predictions ``(V, L)`` of row ``x`` under each colour permutation in ``perms``
    (V, 10), each mapped back to the original colours."""
    def under(perm):
        logits = _logits(model, p, perm[x], mask, steps)
        return jnp.argsort(perm)[jnp.argmax(logits, -1)]

    return jax.vmap(under)(perms)


def majority_row(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The most frequent row of ``rows`` (K, L) compared on ``mask`` (L,); ties go to the
    earliest."""
    rows = np.asarray(rows)
    same = np.all((rows[:, None, :] == rows[None, :, :]) | ~np.asarray(mask)[None, None, :], axis=-1)
    return rows[int(np.argmax(same.sum(axis=1)))]


@eqx.filter_jit
def _adapt_and_predict(model, xs, ys, masks, perms, tx, tmask, keys, steps, ttt_steps, lr, votes, per_step=1,
                       adapt="all"):
    """vmapped over tasks: adapt to the demonstrations, then predict the test inputs
    ``tx`` (T, L) under ``votes`` colour permutations. Returns (candidates (G, T, V, L),
    adapted params, final losses (G,))."""
    p0 = _params(model)

    def one(xs, ys, masks, perms, tx, tmask, key):
        p, losses = _adapt(model, p0, xs, ys, masks, perms, key, steps=steps, ttt_steps=ttt_steps, lr=lr,
                           per_step=per_step, adapt=adapt)
        cands = jax.vmap(lambda x, m: _candidates(model, p, x, m, perms[:votes], steps))(tx, tmask)
        return cands, p, losses[-1] if ttt_steps > 0 else jnp.float32(jnp.nan)

    return jax.vmap(one)(xs, ys, masks, perms, tx, tmask, keys)


def padded_length(n: int) -> int:
    """The padded length a grid of ``n`` cells is bucketed to (36 covers all but one task
    type of 1D-ARC; longer rows go to multiples of 48)."""
    return 36 if n <= 36 else 48 * math.ceil(n / 48)


def task_arrays(tasks: Sequence[Arc1DTask], length: int, *, num_perms: int = 32, seed: int = 0,
                augment: bool = True):
    """Stacked, padded arrays of ``tasks`` (all with the same number of train/test pairs)
    and ``num_perms`` colour permutations per task (identity first) that keep 0 and the
    colours the rule names (:func:`introduced_colours`)."""
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


def candidates(model: Arc1DNCA, tasks: Sequence[Arc1DTask], *, steps: int | None = None,
               ttt_steps: int | None = None, lr: float | None = None, group: int = 16, seed: int = 0,
               num_perms: int = 32, votes: int = 16, per_step: int = 1, restarts: int | None = None,
               canonical: bool = False, adapt: str | None = None, mirror: bool | None = None,
               progress: bool = False) -> list[list[np.ndarray]]:
    """Every candidate test output of each task: one int array ``(restarts * votes, n)``
    per test pair (``n`` its real length), in the task's own colours and orientation.

    Per-task test-time training from ``model``'s weights, vmapped over groups of tasks;
    each fine-tuning predicts the test input under ``votes`` colour permutations (the
    identity first; colours the rule names stay fixed); ``restarts`` independent
    fine-tunings (different random permutation draws) are stacked restart by restart.
    With ``mirror`` the odd-numbered restarts fine-tune on and predict the task's mirror
    image (:func:`~cax_zoo._data._arc1d.mirror`) and their predictions are reversed back.
    With ``canonical`` every pair's colours are first renamed in order of appearance
    (:func:`~cax_zoo._data._arc1d.canonicalise`) and the predictions renamed back.
    ``ttt_steps``, ``lr``, ``adapt``, ``restarts`` and ``mirror`` default to the model's
    ``ttt_steps``, ``ttt_lr``, ``ttt_adapt``, ``ttt_restarts`` and ``ttt_mirror``."""
    steps = model.default_steps if steps is None else int(steps)
    ttt_steps = model.ttt_steps if ttt_steps is None else ttt_steps
    lr = model.ttt_lr if lr is None else lr
    adapt = model.ttt_adapt if adapt is None else adapt
    restarts = model.ttt_restarts if restarts is None else restarts
    mirror = model.ttt_mirror if mirror is None else bool(mirror)
    if adapt not in ADAPT:
        raise ConfigError(f"adapt must be one of {sorted(ADAPT)}, got {adapt!r}")
    if steps < 1 or ttt_steps < 0 or group < 1 or restarts < 1 or not 1 <= votes <= num_perms:
        raise ConfigError(f"need steps >= 1, ttt_steps >= 0, group >= 1, restarts >= 1, 1 <= votes <= num_perms; "
                          f"got {steps}, {ttt_steps}, {group}, {restarts}, {votes}, {num_perms}")
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
            for r in range(restarts):
                flip = mirrored is not None and r % 2 == 1
                xs, ys, ms, ps, tx, _, _ = mirrored if flip else arrays
                keys = jax.random.split(jax.random.PRNGKey(seed + start + 1000003 * r), g)
                c, _, _ = _adapt_and_predict(model, xs, ys, ms, ps, tx, tm, keys, steps, ttt_steps, lr, votes, per_step,
                                             adapt)
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


def solve(model: Arc1DNCA, tasks: Sequence[Arc1DTask], **options) -> list[list[np.ndarray]]:
    """Predicted test outputs of each task (one int array per test pair, its real length):
    the most frequent whole row among its :func:`candidates` (ties go to the earliest:
    the first restart's identity permutation first). ``options`` are those of
    :func:`candidates`."""
    found = candidates(model, tasks, **options)
    return [[majority_row(c, np.ones(c.shape[1], bool)) for c in per_task] for per_task in found]


# ---------------------------------------------------------------- scoring
def score(tasks: Sequence[Arc1DTask], predictions: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Exact-match scoring: a task counts as solved when every test output is predicted
    with the right length and every cell right. Returns ``overall``, ``per_task_type``
    (fraction per type present), ``n_tasks``, ``n_solved`` and ``solved`` (task names)."""
    if len(predictions) != len(tasks):
        raise DataError(f"{len(predictions)} predictions for {len(tasks)} tasks")
    per: dict[str, list[int]] = {}
    solved = []
    for t, preds in zip(tasks, predictions):
        ok = len(preds) == len(t.test) and all(
            np.asarray(p).shape == y.shape and np.array_equal(np.asarray(p), y)
            for p, (_, y) in zip(preds, t.test))
        per.setdefault(t.task_type, [0, 0])
        per[t.task_type][0] += int(ok)
        per[t.task_type][1] += 1
        if ok:
            solved.append(t.name)
    n = len(tasks)
    return {
        "overall": len(solved) / n if n else 0.0,
        "per_task_type": {k: v[0] / v[1] for k, v in sorted(per.items())},
        "n_tasks": n,
        "n_solved": len(solved),
        "solved": solved,
    }


def format_table(result: dict[str, Any]) -> str:
    """Per-type accuracy (percent) beside GPT-4 (Xu et al. 2023) and CAX's NCA (Faldor &
    Cully 2025); 'n/a' where a published per-type figure is not available here."""
    f = lambda v: "n/a" if v is None else f"{v:5.1f}"
    lines = [f"{'task type':<18} {'ours':>6} {'GPT-4':>6} {'CAX NCA':>8}"]
    for t, acc in result["per_task_type"].items():
        lines.append(f"{t:<18} {100 * acc:6.1f} {f(GPT4_PER_TYPE.get(t)):>6} {f(CAX_NCA_PER_TYPE.get(t)):>8}")
    lines.append(f"{'overall':<18} {100 * result['overall']:6.1f} {f(GPT4_OVERALL):>6} {f(CAX_NCA_OVERALL):>8}"
                 f"   ({result['n_solved']}/{result['n_tasks']} tasks)")
    lines.append("GPT-4: " + SOURCES["GPT-4"] + "; CAX NCA: " + SOURCES["CAX NCA"]
                 + " (both on the full benchmark, not only on the tasks scored here)")
    return "\n".join(lines)


def evaluate(model: Arc1DNCA, *, data=None, steps: int | None = None, ttt_steps: int | None = None,
             lr: float | None = None, task_types=None, indices=None, limit: int | None = None,
             progress: bool = True,
             print_table: bool = True, **opts) -> dict[str, Any]:
    """Score ``model`` on every 1D-ARC task under ``data`` (default ``$CAX_ZOO_DATA/1d-arc``)
    by per-task test-time training then exact match of the test outputs. ``task_types``,
    ``indices`` and ``limit`` (the first N tasks, sorted by type and index) select a
    subset; ``steps`` overrides the NCA steps, ``ttt_steps`` the Adam steps per task and
    ``lr`` their learning rate (defaults: the model's ``ttt_steps`` and ``ttt_lr``)."""
    if not isinstance(model, Arc1DNCA):
        raise ConfigError(f"evaluate needs an Arc1DNCA, got {type(model).__name__}")
    unknown = set(opts) - {"group", "seed", "num_perms", "votes", "canonical", "per_step", "restarts", "adapt",
                           "mirror"}
    if unknown:
        raise ConfigError(f"unknown evaluation option(s) {sorted(unknown)}")
    tasks = load_arc1d(data, task_types=task_types, indices=indices)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"limit must be a positive integer, got {limit!r}")
        tasks = tasks[:limit]
    t0 = time.time()
    preds = solve(model, tasks, steps=steps, ttt_steps=ttt_steps, lr=lr, progress=progress, **opts)
    result = score(tasks, preds)
    result["seconds"] = round(time.time() - t0, 1)
    result["ttt_steps"] = model.ttt_steps if ttt_steps is None else ttt_steps
    result["steps"] = model.default_steps if steps is None else int(steps)
    if print_table:
        print(format_table(result))
    return result
