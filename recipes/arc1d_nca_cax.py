"""Recipe: CAX's own 1D-ARC NCA under the paper's protocol (one NCA, a task-type embedding).

    cax-zoo train arc1d_nca/cax --out runs/arc1d_cax          # full config
    python -m recipes.arc1d_nca_cax --smoke --out /tmp/smoke  # seconds (CI)

Faldor & Cully (2025) train ONE neural CA on all 18 task types of 1D-ARC: the NCA is given
the task (here: a learned embedding of its task type, read by the update at every step),
trained on the demonstration pairs and scored on the test pair, with no test-time
training. This recipe follows that protocol, with the architecture of CAX's 1D-ARC example
(:class:`cax_zoo.Arc1DTaskNCA`: identity + gradient perception, a residual cell MLP,
64 channels, 64 steps, the input one-hot in the last 10 channels that end as the output
logits) and CAX's optimiser (Adam, lr 1e-3 decaying linearly to 1e-4 over the first tenth
of training -- ``lr_decay_fraction`` -- then constant; global-norm clip 1). Unlike the
paper, which scores the test pairs of the very tasks whose demonstrations it trained on,
the model trains on the demonstration pairs of instances ``train_indices`` only and is
scored on the test pairs of instances ``eval_indices`` it never saw (settings are chosen
on ``val_indices``, also never trained on). Each sampled pair is recoloured with a random
permutation of the colours 1-9 other than those its task's rule names
(:func:`cax_zoo.arc1d.introduced_colours`) -- CAX permutes all of 1-9, but with only the
task type to go on, a recolouring task's target colours must stay its own -- and is not
mirrored (a mirrored 'move right' would
contradict its task type). Rows are padded with background to 36 cells; the longer rows
of 1d_padded_fill to 96, in a batch of their own every ``long_every`` steps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cax_zoo import Arc1DTaskNCA, ConfigError
from cax_zoo.arc1d import (
    TASK_TYPES, evaluate_task_id, format_table, introduced_colours, load_arc1d, pad_pairs, padded_length,
    random_colour_permutation, task_id_logits,
)
from cax_zoo.training import (
    RecipeRun, begin, config_differences, drive, finish, initial_model, key_data, model_card, parse_recipe_args,
    run_main,
)
from recipes.arc1d_nca import write_task_file

NAME = "arc1d_nca/cax"
PAPER = ("Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025), 1D-ARC NCA "
         "(examples/46_1d_arc_nca.ipynb for the architecture); 1D-ARC: Xu et al. 2023")
LENGTH = 36
PREVIEW_TYPE = "1d_move_1p"  # the release's preview.gif: the first held-out task of this type, solved

FULL: dict[str, Any] = {
    "seed": 0,
    "train_steps": 8192,
    "batch_size": 16,  # demonstration pairs per step (CAX: 16)
    "lr": 1e-3,  # CAX: Adam, lr linear 1e-3 -> 1e-4 over the first 10% of the steps, then 1e-4
    "lr_decay_fraction": 0.1,  # the fraction of the steps over which lr decays to a tenth (CAX: 0.1)
    "clip": 1.0,  # global gradient-norm clip (CAX: 1)
    "channels": 64,
    "hidden_size": 256,
    "embed_dim": 32,
    "default_steps": 64,
    "long_every": 8,  # every 8th step a batch of the rows longer than 36 (1d_padded_fill)
    "train_indices": [0, 15],  # [start, stop): instances whose demonstration pairs are trained on
    "val_indices": [15, 21],  # [start, stop): instances scored for choosing settings (never trained on)
    "eval_indices": [21, 30],  # [start, stop): held-out instances scored at the end (never trained on)
    "eval_task_types": [],  # [] = all 18
    "eval_every": 0,  # > 0: score the validation instances every N steps (logged)
    "checkpoint_every": 500,
}
SMOKE: dict[str, Any] = {
    **FULL, "train_steps": 4, "batch_size": 4, "long_every": 2, "channels": 16, "hidden_size": 16,
    "embed_dim": 4, "default_steps": 4, "val_indices": [15, 16], "eval_indices": [21, 22],
    "eval_task_types": ["1d_move_1p", "1d_fill", "1d_padded_fill"], "eval_every": 2, "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's own constraints (the model's fields are checked by :class:`Arc1DTaskNCA`)."""
    for name in ("train_steps", "batch_size", "checkpoint_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 10_000_000:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("long_every", "eval_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10_000_000:
            raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
    for name, top in (("lr", 1e6), ("clip", 1e6), ("lr_decay_fraction", 1.0)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= top:
            raise ConfigError(f"{name} must be a number in (0, {top:g}], got {v!r}")
    spans = {}
    for name in ("train_indices", "val_indices", "eval_indices"):
        v = cfg[name]
        if (not isinstance(v, (list, tuple)) or len(v) != 2
                or any(isinstance(i, bool) or not isinstance(i, int) for i in v) or not 0 <= v[0] < v[1] <= 10_000):
            raise ConfigError(f"{name} must be [start, stop) with 0 <= start < stop, got {v!r}")
        spans[name] = v
    a, b = spans["train_indices"]
    for name in ("val_indices", "eval_indices"):
        c, d = spans[name]
        if max(a, c) < min(b, d):
            raise ConfigError(f"train_indices {[a, b]} overlap {name} {[c, d]}")
    types = cfg["eval_task_types"]
    if not isinstance(types, (list, tuple)) or any(t not in TASK_TYPES for t in types):
        raise ConfigError(f"eval_task_types must be a list of 1D-ARC task types, got {types!r}")
    return cfg


def create_model(cfg: dict[str, Any]) -> Arc1DTaskNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return Arc1DTaskNCA(channels=cfg["channels"], hidden_size=cfg["hidden_size"], embed_dim=cfg["embed_dim"],
                        default_steps=cfg["default_steps"], key=jax.random.PRNGKey(cfg["seed"]))


def demonstration_pairs(tasks) -> list[tuple[np.ndarray, np.ndarray, int, frozenset[int]]]:
    """Every demonstration pair of ``tasks``: ``(input, output, task type index, colours
    its rule names)``. Test pairs are left out (the paper trains on demonstrations)."""
    return [(x, y, TASK_TYPES.index(t.task_type), introduced_colours(t)) for t in tasks for x, y in t.train]


def sample_batch(pairs, rng: np.random.Generator, size: int, length: int):
    """``size`` pairs drawn uniformly, each recoloured by a random permutation that keeps 0
    and its rule's colours: ``(xs, ys, masks)`` ``(size, length)`` and task ids ``(size,)``."""
    xs, ys, ids = [], [], []
    for i in rng.integers(0, len(pairs), size):
        x, y, t, fixed = pairs[i]
        perm = random_colour_permutation(rng, fixed)
        xs.append(perm[x]), ys.append(perm[y]), ids.append(t)
    x, y, m = pad_pairs(list(zip(xs, ys)), length)
    return x, y, m, np.asarray(ids, np.int32)


def make_train_step(cfg: dict[str, Any], optimizer):
    """The jitted training step: mean cross-entropy of the output colours over the real
    cells of the batch's rows after ``default_steps`` steps."""
    steps = cfg["default_steps"]

    def loss_fn(model, xs, ys, ms, ids):
        out = jax.vmap(lambda x, t: task_id_logits(model, x, t, steps))(xs, ids)
        ce = optax.softmax_cross_entropy_with_integer_labels(out, ys)
        w = ms.astype(jnp.float32)
        return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)

    @eqx.filter_jit
    def train_step(model, opt_state, xs, ys, ms, ids):
        loss, g = eqx.filter_value_and_grad(loss_fn)(model, xs, ys, ms, ids)
        updates, opt_state = optimizer.update(g, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    return train_step


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    a, b = cfg["train_indices"]
    va, vb = cfg["val_indices"]
    ea, eb = cfg["eval_indices"]
    tasks = load_arc1d(run.options.data, indices=range(a, b))
    short = demonstration_pairs([t for t in tasks if padded_length(t.max_length) == LENGTH])
    long_tasks = [t for t in tasks if padded_length(t.max_length) != LENGTH]
    long_ = demonstration_pairs(long_tasks)
    long_length = max((padded_length(t.max_length) for t in long_tasks), default=LENGTH)
    print(f"training on the {len(short) + len(long_)} demonstration pairs of {len(tasks)} tasks "
          f"(instances {a}-{b - 1} of each type; {len(long_)} padded to {long_length})")
    model = initial_model(run, lambda: create_model(cfg))
    n = cfg["train_steps"]
    schedule = optax.linear_schedule(cfg["lr"], 0.1 * cfg["lr"], max(1, int(n * cfg["lr_decay_fraction"])))
    optimizer = optax.chain(optax.clip_by_global_norm(cfg["clip"]), optax.adam(schedule))
    trees = {"model": model, "opt_state": optimizer.init(eqx.filter(model, eqx.is_array))}
    step_fn = make_train_step(cfg, optimizer)
    types = cfg["eval_task_types"] or None

    def one(tr, step):
        rng = np.random.default_rng([cfg["seed"], step])
        k = cfg["long_every"]
        if long_ and k and step % k == k - 1:
            batch = sample_batch(long_, rng, max(1, cfg["batch_size"] // 4), long_length)
        else:
            batch = sample_batch(short, rng, cfg["batch_size"], LENGTH)
        m, o, loss = step_fn(tr["model"], tr["opt_state"], *batch)
        e = cfg["eval_every"]
        if e and (step + 1) % e == 0:
            r = evaluate_task_id(m, data=run.options.data, indices=range(va, vb), task_types=types,
                                 progress=False, print_table=False)
            print(f"step {step + 1}: validation exact match {r['overall']:.3f} "
                  f"(instances {va}-{vb - 1}, {r['n_tasks']} tasks)", flush=True)
        return {"model": m, "opt_state": o}, loss

    trained = drive(run, trees, one, num_steps=n, checkpoint_every=cfg["checkpoint_every"], desc=NAME,
                    log_every=10, meta={"seed": cfg["seed"], "key_data": key_data(jax.random.PRNGKey(cfg["seed"]))})
    if not trained.completed:
        return 0
    model, history = trained.model, trained.history
    val = evaluate_task_id(model, data=run.options.data, indices=range(va, vb), task_types=types,
                           progress=False, print_table=False)
    print(f"validation (instances {va}-{vb - 1}): exact match {val['overall']:.3f}")
    print(f"evaluating on instances {ea}-{eb - 1} (held out) ...")
    result = evaluate_task_id(model, data=run.options.data, indices=range(ea, eb), task_types=types,
                              progress=run.progress, print_table=False)
    table = format_table(result)
    print(table)
    tail = trained.final_loss(last=10)
    metrics = {"heldout_overall": result["overall"], "heldout_n_tasks": result["n_tasks"],
               "heldout_n_solved": result["n_solved"], "heldout_indices": f"{ea}-{eb - 1}",
               "heldout_per_task_type": result["per_task_type"],
               "validation_overall": val["overall"], "validation_n_tasks": val["n_tasks"],
               "validation_indices": f"{va}-{vb - 1}", "eval_seconds": result["seconds"],
               "final_train_loss": None if tail is None else round(tail, 4),
               "train_steps": n, "train_seconds": trained.train_seconds}
    notes = (f"Protocol: the CAX paper's (one NCA for all task types, told the task by a learned task-type "
             f"embedding; no test-time training), not the later notebook's (demonstrations in context "
             f"channels). Trained on the demonstration pairs of instances {a}-{b - 1} of every task type "
             f"(1d_padded_fill padded to {long_length}), {n} Adam steps of {cfg['batch_size']} pairs; "
             f"validation on instances {va}-{vb - 1} and the held-out score on instances {ea}-{eb - 1}, "
             "neither ever trained on: exact match of the test output predicted from the test input and "
             "the task type alone. The paper's 60.1% scores the test pairs of tasks whose demonstrations "
             "it trained on, an easier protocol.\n\n"
             + config_differences(cfg, FULL, source="the CAX paper's config", short="CAX", ignore=("checkpoint_every", "eval_every"))
             + "\n\n"
             "Held-out per-type accuracy (percent; published GPT-4 and CAX NCA figures beside ours):\n\n"
             "```\n" + table + "\n```\n")
    card = model_card(
        f"arc1d_nca/cax{' (smoke test)' if run.smoke else ''}",
        summary="CAX's own 1D-ARC neural CA (Faldor & Cully 2025) under the paper's protocol: one 1-D NCA for "
                "all 18 task types, given the task type as a learned embedding, trained on demonstration "
                "pairs, no test-time training. Load with `cax_zoo.load('arc1d_nca/cax')`.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics, notes=notes, name=NAME,
        usage="import cax_zoo\nfrom cax_zoo.arc1d import evaluate_task_id\n"
              f"model = cax_zoo.load('arc1d_nca/cax')\nresult = evaluate_task_id(model, indices=range({ea}, {eb}))",
    )
    with tempfile.TemporaryDirectory(prefix="arc1d_cax_preview_") as tmp:  # the first held-out task, solved
        task = load_arc1d(run.options.data, indices=[ea], task_types=[PREVIEW_TYPE])[0]
        preview = ["--task", str(write_task_file(task, Path(tmp)))]
        finish(run, model, name=NAME, card=card, metrics=metrics, history=history, run_args=preview)
    return 0


def _add_arguments(parser) -> None:
    parser.add_argument("--data", default=None, help="1D-ARC root folder (default $CAX_ZOO_DATA/1d-arc)")


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE,
        add_arguments=_add_arguments))


if __name__ == "__main__":
    raise SystemExit(main())
