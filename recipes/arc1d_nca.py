"""Recipe: multi-task supervised pretraining of the 1D-ARC neural CA (with task contexts).

    cax-zoo train arc1d_nca --out runs/arc1d_nca          # full config
    python -m recipes.arc1d_nca --smoke --out /tmp/smoke  # seconds (CI)

The zoo's ``arc1d_nca`` solves a task by test-time training (TTT) on its demonstration
pairs (see :func:`cax_zoo.arc1d.solve`); this recipe learns the weights
that TTT starts from. It trains ONE NCA directly (plain Adam steps on cross-entropy) on
every input -> output pair (three demonstrations and the test pair) of instances
``train_indices`` of all 18 task types. Each training task also owns a learned *context*:
a vector added to the rule's first-layer bias (one per task and mirror orientation), so
that pairs the input alone cannot explain (move by 1, 2 or 3 cells? recolour to which
colour?) are explained by the task's context; the context is L2-penalised so that the
shared bias is the "average task". At test time the context is exactly what TTT has to
find (it fine-tunes the biases, or all weights, on the demonstrations); with
``type_contexts`` the released model carries the mean context of each task type (and of
its mirror images), and TTT starts from the one that fits the demonstrations best. Each sampled task
is mirrored (p=1/2) and recoloured with a random permutation of the colours 1-9 other than
those its rule names (:func:`cax_zoo.arc1d.introduced_colours`), the same way in
every grid of the task. Rows are padded to 36 cells; the longer rows of 1d_padded_fill to
96, in a batch of their own every ``long_every`` steps. With ``generated_per_type``, that
many tasks of each type drawn by :func:`cax_zoo.arc1d.generate_tasks` join the training
tasks (each with its own context). At the end the model is scored by
the zoo's evaluation on instances ``eval_indices`` (never trained on) and released.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cax_zoo import Arc1DNCA, ConfigError
from cax_zoo.arc1d import (
    evaluate, format_table, generate_tasks, introduced_colours, load_arc1d, logits, mirror, pad_pairs, padded_length,
    permute_colours, random_colour_permutation, shift_bias, with_contexts,
)
from cax_zoo.training import (
    RecipeRun, begin, data_mesh, drive, finish, initial_model, key_data, model_card, parse_recipe_args, run_main,
    shard_leading,
)

NAME = "arc1d_nca"
PAPER = ("Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025), 1D-ARC NCA; "
         "1D-ARC: Xu et al. 2023; task contexts as in CAVIA: Zintgraf et al. 2019")
LENGTH = 36

FULL: dict[str, Any] = {
    "seed": 0,
    "train_steps": 4000,
    "batch_tasks": 16,  # tasks per step (all their pairs: 64 rows)
    "lr": 2e-3,  # Adam, 100 warm-up steps, cosine decay to 5% of it
    "clip": 1.0,  # global gradient-norm clip
    "context_wd": 1e-3,  # L2 penalty on the per-task contexts
    "long_every": 8,  # every 8th step a batch of the rows longer than 36 (1d_padded_fill)
    "hidden": 32,
    "features": 128,
    "radius": 2,
    "far": [],
    "pooled": True,  # cells also see the mean state of the row (81.5% vs 75.9% on 15-20)
    "segment_pooled": False,  # cells also see the mean state of their run of one colour and its two ends
    "context_decays": [],  # per decay, cells also see the row on their left and right, weighted by nearness
    "colour_channels": 0,  # > 0: colour-equivariant rule, this many carrier channels per colour (hidden >= 10 + 10 x it)
    "colour_features": 8,  # with colour_channels: perception features per colour (features - 9 x it shared)
    "generated_per_type": 0,  # also pretrain on this many generated tasks of each type (cax_zoo.arc1d.generate_tasks)
    "type_contexts": False,  # release the mean training context of each task type (and its mirror image): TTT starts from the best fit
    "default_steps": 32,
    "ttt_steps": 150,
    "ttt_lr": 1e-3,
    "ttt_adapt": "all",
    "ttt_restarts": 4,  # independent fine-tunings per task, their votes pooled
    "ttt_verify": True,  # only candidates keeping every invariant the demonstrations keep vote (93 vs 88 on 15-20)
    "train_indices": [0, 15],  # [start, stop): instances trained on
    "eval_indices": [15, 21],  # [start, stop): validation instances scored at the end (held out)
    "eval_task_types": [],  # [] = all 18
    "checkpoint_every": 500,
    "devices": 1,  # data parallel: rows of each batch split over this many devices (0 = all)
}
SMOKE: dict[str, Any] = {
    **FULL, "train_steps": 4, "batch_tasks": 2, "long_every": 2, "hidden": 12, "features": 8,
    "default_steps": 4, "ttt_steps": 2, "eval_indices": [15, 16], "ttt_restarts": 1,
    "eval_task_types": ["1d_move_1p", "1d_fill"], "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's own constraints (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`Arc1DNCA`)."""
    for name in ("train_steps", "batch_tasks", "checkpoint_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("long_every", "generated_per_type"):
        v = cfg.get(name, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
    for name, positive in (("lr", True), ("clip", True), ("context_wd", False)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 if positive else v >= 0) \
                or not v <= 1e6:
            raise ConfigError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {v!r}")
    for name in ("train_indices", "eval_indices"):
        v = cfg[name]
        if (not isinstance(v, (list, tuple)) or len(v) != 2
                or any(isinstance(i, bool) or not isinstance(i, int) for i in v) or not 0 <= v[0] < v[1] <= 10_000):
            raise ConfigError(f"{name} must be [start, stop) with 0 <= start < stop, got {v!r}")
    return cfg


def create_model(cfg: dict[str, Any]) -> Arc1DNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return Arc1DNCA(hidden=cfg["hidden"], features=cfg["features"], radius=cfg["radius"], far=cfg.get("far", []),
                    pooled=cfg.get("pooled", False), segment_pooled=cfg.get("segment_pooled", False),
                    context_decays=cfg.get("context_decays", []), colour_channels=cfg.get("colour_channels", 0),
                    colour_features=cfg.get("colour_features", 8), default_steps=cfg["default_steps"], ttt_steps=cfg["ttt_steps"], ttt_lr=cfg["ttt_lr"],
                    ttt_adapt=cfg["ttt_adapt"], ttt_restarts=cfg.get("ttt_restarts", 2), ttt_mirror=cfg.get("ttt_mirror", False),
                    ttt_verify=cfg.get("ttt_verify", False), key=jax.random.PRNGKey(cfg["seed"]))


_create = create_model


def _sample_batch(pool, context_of, rng: np.random.Generator, size: int, length: int):
    """``size`` tasks of ``pool``, each mirrored (p=1/2) and colour-permuted as a whole
    (keeping the colours its rule names); all their pairs (demonstrations and tests) as
    ``(xs, ys, masks)`` (R, length) and each row's context index (R,)."""
    xs, ys, ms, ci = [], [], [], []
    for i in rng.integers(0, len(pool), size):
        t = pool[i]
        flip = bool(rng.random() < 0.5)
        if flip:
            t = mirror(t)
        t = permute_colours(t, random_colour_permutation(rng, introduced_colours(t)))
        x, y, m = pad_pairs(t.train + t.test, length)
        xs.append(x), ys.append(y), ms.append(m), ci.append(np.full(len(x), 2 * context_of[t.name] + flip))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ms), np.concatenate(ci)


def _pad_rows(batch, n: int):
    """Pad the rows of a batch to a multiple of ``n`` devices with masked-out rows (mask 0:
    they add nothing to the loss, so the step is the same as unpadded)."""
    extra = -len(batch[0]) % n
    return tuple(np.concatenate([a, np.zeros((extra,) + a.shape[1:], a.dtype)]) for a in batch)


def make_train_step(model_skeleton: Arc1DNCA, cfg: dict[str, Any], optimizer):
    """The jitted training step over ``(model, context)``: each row's task context shifts
    the perception's bias (``perceive.bias``)."""
    steps, wd = cfg["default_steps"], cfg["context_wd"]

    def loss_fn(trainable, xs, ys, ms, ci):
        model, context = trainable
        z = context[ci]  # (R, features)

        def row_logits(x, m, c):
            return logits(shift_bias(model, c), x, m, steps)

        out = jax.vmap(row_logits)(xs, ms, z)
        ce = optax.softmax_cross_entropy_with_integer_labels(out, ys)
        w = ms.astype(jnp.float32)
        ce = jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)
        return ce + wd * jnp.mean(jnp.sum(z * z, axis=-1)), ce

    @eqx.filter_jit
    def train_step(model, context, opt_state, xs, ys, ms, ci):
        (_, ce), g = eqx.filter_value_and_grad(loss_fn, has_aux=True)((model, context), xs, ys, ms, ci)
        updates, opt_state = optimizer.update(g, opt_state, eqx.filter((model, context), eqx.is_array))
        model, context = eqx.apply_updates((model, context), updates)
        return model, context, opt_state, ce

    return train_step


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    mesh = data_mesh(cfg.get("devices", 1))
    a, b = cfg["train_indices"]
    ea, eb = cfg["eval_indices"]
    if max(a, ea) < min(b, eb):
        raise ConfigError(f"train_indices {cfg['train_indices']} overlap eval_indices {cfg['eval_indices']}")
    per_type = cfg.get("generated_per_type", 0)
    generated = generate_tasks(None, per_type, seed=cfg["seed"])  # each a training task with its own context
    tasks = load_arc1d(run.options.data, indices=range(a, b)) + generated
    context_of = {t.name: i for i, t in enumerate(tasks)}
    short = [t for t in tasks if padded_length(t.max_length) == LENGTH]
    long_ = [t for t in tasks if padded_length(t.max_length) != LENGTH]
    long_length = max((padded_length(t.max_length) for t in long_), default=LENGTH)
    print(f"training on all pairs of {len(tasks)} tasks (instances {a}-{b - 1} of each type"
          f"{f', and {per_type} generated tasks of each' if per_type else ''}; "
          f"{len(long_)} padded to {long_length})")
    model = initial_model(run, lambda: create_model(cfg))
    context = jnp.zeros((2 * len(tasks), model.features), jnp.float32)
    schedule = optax.warmup_cosine_decay_schedule(0.0, cfg["lr"], min(100, cfg["train_steps"] // 2 + 1),
                                                  max(cfg["train_steps"], 2), cfg["lr"] * 0.05)
    optimizer = optax.chain(optax.clip_by_global_norm(cfg["clip"]), optax.adam(schedule))
    opt_state = optimizer.init(eqx.filter((model, context), eqx.is_array))
    base_key = jax.random.PRNGKey(cfg["seed"])
    trees = {"model": model, "context": context, "opt_state": opt_state}
    step_fn = make_train_step(model, cfg, optimizer)

    def one(tr, step):
        rng = np.random.default_rng([cfg["seed"], step])
        k = cfg["long_every"]
        if long_ and k and step % k == k - 1:
            batch = _sample_batch(long_, context_of, rng, max(1, cfg["batch_tasks"] // 4), long_length)
        else:
            batch = _sample_batch(short, context_of, rng, cfg["batch_tasks"], LENGTH)
        if mesh is not None:  # data parallel: the parameters replicated (by drive), each batch's rows split
            batch = shard_leading(_pad_rows(batch, mesh.size), mesh)
        m, c, o, loss = step_fn(tr["model"], tr["context"], tr["opt_state"], *batch)
        return {"model": m, "context": c, "opt_state": o}, loss

    trained = drive(run, trees, one, num_steps=cfg["train_steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc=NAME, mesh=mesh, log_every=10, meta={"seed": cfg["seed"], "key_data": key_data(base_key)})
    if not trained.completed:
        return 0
    model, history = trained.model, trained.history
    if cfg.get("type_contexts", False):
        model = with_contexts(model, type_contexts(tasks, trained.trees["context"]))
    types = cfg["eval_task_types"] or None
    print(f"evaluating on instances {ea}-{eb - 1} (held out) with {model.ttt_steps} TTT steps ...")
    result = evaluate(model, data=run.options.data, indices=range(ea, eb), task_types=types,
                      progress=run.progress, print_table=False)
    table = format_table(result)
    print(table)
    tail = trained.final_loss(last=10)
    metrics = {"heldout_overall": result["overall"], "heldout_n_tasks": result["n_tasks"],
               "heldout_per_task_type": result["per_task_type"], "eval_seconds": result["seconds"],
               "final_train_loss": None if tail is None else round(tail, 4),
               "train_steps": cfg["train_steps"], "train_seconds": trained.train_seconds}
    also = (f", and on {per_type} tasks of each type generated by `cax_zoo.arc1d.generate_tasks` "
            f"(seed {cfg['seed']}; {len(generated)} in all)" if generated else "")
    rule = (f"The rule is colour-equivariant: {model.colour_channels} carrier channels and "
            f"{model.colour_features} perception features per colour, the same weights for colours 1-9. "
            if model.colour_channels else "")
    notes = (rule + f"Trained on instances {a}-{b - 1} of every task type (all 18; 1d_padded_fill padded to "
             f"{long_length}){also}: all four pairs of a training task (demonstrations and test) were used, "
             f"with a learned context per training task. Scored on instances {ea}-{eb - 1} (never trained on), exact "
             f"match, test-time training {model.ttt_steps} Adam steps per task (lr {model.ttt_lr}, adapting "
             f"'{model.ttt_adapt}' weights) from "
             + (f"the best-fitting of {model.ttt_contexts} task-type contexts" if model.ttt_contexts else "a zero context")
             + f", {model.ttt_restarts} restarts x 16 colour "
             "permutations of the test input, whole-row majority vote"
             + (" among the candidates that keep every invariant the task's demonstrations keep "
                "(`cax_zoo.arc1d.demonstrated_invariants`)" if model.ttt_verify else "") + ".\n\n"
             "Held-out per-type accuracy (percent; published GPT-4 and CAX NCA figures beside ours, n/a where none):\n\n"
             "```\n" + table + "\n```\n")
    card = model_card(
        f"arc1d_nca{' (smoke test)' if run.smoke else ''}",
        summary="A 1-D neural CA for 1D-ARC: one NCA pretrained on every pair of the training tasks (with a "
                "learned per-task context), fine-tuned on each task's demonstration pairs at test time. "
                "Load with `cax_zoo.load('arc1d_nca')`.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics, notes=notes,
        usage="import cax_zoo\nfrom cax_zoo.arc1d import evaluate\n"
              "model = cax_zoo.load('arc1d_nca')\nresult = evaluate(model, indices=range(21, 30))",
    )
    with tempfile.TemporaryDirectory(prefix="arc1d_preview_") as tmp:
        if run.smoke:  # seconds: the rule on a random row (solving a task compiles test-time training)
            preview = ["--steps", "4", "--seed", "0"]
        else:  # the first held-out task of PREVIEW_TYPE, solved: `cax-zoo run arc1d_nca --task FILE.json`
            task = load_arc1d(run.options.data, indices=[ea], task_types=[PREVIEW_TYPE])[0]
            preview = ["--task", str(write_task_file(task, Path(tmp))), "--seed", "0"]
        finish(run, model, name=NAME, card=card, metrics=metrics, history=history, run_args=preview)
    return 0


def type_contexts(tasks, context) -> np.ndarray:
    """The mean learned context of each task type's training tasks, then of their mirror
    images ``(2 * types, features)`` (row ``2 i + f`` of ``context`` is task ``i``,
    mirrored when ``f``)."""
    context = np.asarray(context)
    types = sorted({t.task_type for t in tasks})
    return np.stack([context[[2 * i + f for i, t in enumerate(tasks) if t.task_type == ty]].mean(0)
                     for f in (0, 1) for ty in types])


PREVIEW_TYPE = "1d_move_1p"  # the release's preview.gif: the first held-out task of this type, solved


def write_task_file(task, folder: Path) -> Path:
    """``task`` as a 1D-ARC JSON file ``folder/<name>.json`` (the dataset's layout)."""
    def pairs(split):
        return [{"input": [x.tolist()], "output": [y.tolist()]} for x, y in split]

    path = folder / f"{task.name}.json"
    path.write_text(json.dumps({"train": pairs(task.train), "test": pairs(task.test)}), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE, data="1d-arc"))


if __name__ == "__main__":
    raise SystemExit(main())
