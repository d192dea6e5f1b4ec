"""Recipe: meta-learn the initialisation of the 1D-ARC neural CA (Reptile).

    cax-zoo train arc1d_nca --out runs/arc1d_nca          # full config
    python -m recipes.arc1d_nca --smoke --out /tmp/smoke  # seconds (CI)

The zoo's ``arc1d_nca`` solves a task by test-time training (TTT) on its demonstration
pairs (see :func:`cax_zoo._families._arc1d_nca.solve`); this recipe learns the weights
that TTT starts from. Each meta-step draws ``meta_batch`` training tasks (instances
``train_indices`` of every task type that fits the padded length 36, i.e. all but
1d_padded_fill), applies a random whole-task mirror and colour permutation (which keep a
task's meaning: every grid of the task is transformed the same way), runs ``inner_steps``
Adam steps of TTT on each task's demonstration AND test pairs (all four are training data
here), and moves the initialisation towards the mean of the adapted weights (Reptile,
Nichol et al. 2018, with Adam on the meta-gradient). At the end the model is scored by
the zoo's evaluation on instances ``eval_indices`` (never trained on).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cax_zoo._data._arc1d import (
    NUM_COLOURS, load_arc1d, mirror, pad_pairs, permute_colours, random_colour_permutation,
)
from cax_zoo._errors import ConfigError
from cax_zoo._families._arc1d_nca import (
    Arc1DNCA, _adapt, _params, _with_params, evaluate, format_table, padded_length,
)
from cax_zoo._training._checkpoint import key_data, load_checkpoint
from cax_zoo._training._loop import train_loop
from cax_zoo._training._recipe_cli import RecipeRun, begin, initial_model, parse_recipe_args, run_main
from cax_zoo._training._release import model_card, release_run

NAME = "arc1d_nca"
PAPER = ("Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025), 1D-ARC NCA; "
         "1D-ARC: Xu et al. 2023; Reptile: Nichol, Achiam & Schulman 2018")
LENGTH = 36

FULL: dict[str, Any] = {
    "seed": 0,
    "meta_steps": 300,
    "meta_batch": 16,
    "inner_steps": 30,
    "inner_lr": 3e-3,
    "meta_lr": 1e-3,
    "hidden": 24,
    "features": 64,
    "radius": 2,
    "far": [],
    "default_steps": 24,
    "train_indices": [0, 15],  # [start, stop): instances trained on
    "eval_indices": [15, 30],  # [start, stop): instances scored at the end (held out)
    "eval_ttt_steps": 150,
    "eval_task_types": [],  # [] = all 18
    "checkpoint_every": 50,
}
SMOKE: dict[str, Any] = {
    **FULL, "meta_steps": 3, "meta_batch": 2, "inner_steps": 2, "hidden": 12, "features": 8,
    "default_steps": 4, "eval_indices": [15, 16], "eval_ttt_steps": 2,
    "eval_task_types": ["1d_move_1p", "1d_fill"], "checkpoint_every": 2,
}


def _create(cfg: dict[str, Any]) -> Arc1DNCA:
    return Arc1DNCA(hidden=cfg["hidden"], features=cfg["features"], radius=cfg["radius"], far=cfg.get("far", []),
                    default_steps=cfg["default_steps"], key=jax.random.PRNGKey(cfg["seed"]))


def _sample_batch(tasks, rng: np.random.Generator, size: int):
    """``size`` tasks, each mirrored (p=1/2) and colour-permuted as a whole; all its pairs
    (demonstrations and tests) as ``(xs, ys, masks)`` (B, N, LENGTH)."""
    xs, ys, ms = [], [], []
    for i in rng.integers(0, len(tasks), size):
        t = tasks[i]
        if rng.random() < 0.5:
            t = mirror(t)
        t = permute_colours(t, random_colour_permutation(rng))
        x, y, m = pad_pairs(t.train + t.test, LENGTH)
        xs.append(x), ys.append(y), ms.append(m)
    return np.stack(xs), np.stack(ys), np.stack(ms)


def make_meta_step(model_skeleton: Arc1DNCA, cfg: dict[str, Any], optimizer):
    steps, inner, lr = cfg["default_steps"], cfg["inner_steps"], cfg["inner_lr"]
    identity = jnp.arange(NUM_COLOURS)[None]  # (1, 10): colours were permuted on the host

    @eqx.filter_jit
    def meta_step(model, opt_state, xs, ys, ms, key):
        p0 = _params(model)
        keys = jax.random.split(key, xs.shape[0])
        adapted, losses = jax.vmap(
            lambda x, y, m, k: _adapt(model, p0, x, y, m, identity, k, steps=steps, ttt_steps=inner, lr=lr)
        )(xs, ys, ms, keys)
        meta_grad = jax.tree_util.tree_map(lambda a, b: a - jnp.mean(b, axis=0), p0, adapted)
        updates, opt_state = optimizer.update(meta_grad, opt_state, p0)
        model = _with_params(model, optax.apply_updates(p0, updates))
        return model, opt_state, jnp.mean(losses[:, -1])

    return meta_step


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = run.config
    a, b = cfg["train_indices"]
    ea, eb = cfg["eval_indices"]
    if max(a, ea) < min(b, eb):
        raise ConfigError(f"train_indices {cfg['train_indices']} overlap eval_indices {cfg['eval_indices']}")
    tasks = [t for t in load_arc1d(run.options.data, indices=range(a, b)) if padded_length(t.max_length) == LENGTH]
    print(f"meta-training on {len(tasks)} tasks (instances {a}-{b - 1} of each type that fits length {LENGTH})")
    model = initial_model(run, lambda: _create(cfg))
    optimizer = optax.adam(cfg["meta_lr"])
    opt_state = optimizer.init(_params(model))
    base_key = jax.random.PRNGKey(cfg["seed"])
    trees = {"model": model, "opt_state": opt_state}
    start, history, elapsed = 0, [], 0.0
    if run.resume:
        trees, start, meta = load_checkpoint(run.checkpoint_dir, trees)
        history, elapsed = meta.get("history", []), float(meta.get("train_seconds", 0.0))
        print(f"resumed from meta-step {start} of {cfg['meta_steps']}")
    step_fn = make_meta_step(model, cfg, optimizer)
    t0 = time.time()

    def one(tr, step):
        rng = np.random.default_rng([cfg["seed"], step])
        xs, ys, ms = _sample_batch(tasks, rng, cfg["meta_batch"])
        m, o, loss = step_fn(tr["model"], tr["opt_state"], xs, ys, ms, jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o}, loss

    def meta(done, hist):
        return {"config": cfg, "seed": cfg["seed"], "key_data": key_data(base_key), "history": hist,
                "train_seconds": elapsed + time.time() - t0, "command": run.command}

    trees, history, completed = train_loop(
        one, trees, start_step=start, num_steps=cfg["meta_steps"], checkpoint_dir=run.checkpoint_dir,
        checkpoint_every=cfg["checkpoint_every"], meta=meta, history=history, stop_after=run.stop_after,
        progress=run.progress, desc=NAME, finish_now=run.finish_now, log_every=1)
    if not completed:
        print(f"stopped after meta-step {run.stop_after}; continue with --resume")
        return 0
    model = trees["model"]
    train_seconds = elapsed + time.time() - t0
    types = cfg["eval_task_types"] or None
    print(f"evaluating on instances {ea}-{eb - 1} (held out) with {cfg['eval_ttt_steps']} TTT steps ...")
    result = evaluate(model, data=run.options.data, indices=range(ea, eb), task_types=types,
                      ttt_steps=cfg["eval_ttt_steps"], progress=run.progress, print_table=False)
    table = format_table(result)
    print(table)
    metrics = {"heldout_overall": result["overall"], "heldout_n_tasks": result["n_tasks"],
               "heldout_per_task_type": result["per_task_type"], "eval_seconds": result["seconds"],
               "final_inner_loss": history[-1][1] if history else None,
               "meta_steps": cfg["meta_steps"], "train_seconds": round(train_seconds, 1)}
    notes = (f"Meta-trained on instances {a}-{b - 1} of every task type except 1d_padded_fill "
             f"(rows longer than {LENGTH}); all four pairs of a training task (demonstrations and test) "
             f"were used. Scored on instances {ea}-{eb - 1} (never trained on), exact match, "
             f"test-time training {cfg['eval_ttt_steps']} Adam steps per task (evaluate's defaults otherwise: "
             "2 restarts x 16 colour permutations of the test input, whole-row majority vote).\n\n"
             "Held-out per-type accuracy (percent; GPT-4 / CAX NCA per-type figures not available here):\n\n"
             "```\n" + table + "\n```\n" + (run.options.notes or ""))
    card = model_card(
        f"arc1d_nca{' (smoke test)' if run.smoke else ''}",
        summary="A 1-D neural CA for 1D-ARC: a meta-learned (Reptile) initialisation that is fine-tuned "
                "on each task's demonstration pairs at test time. Load with `cax_zoo.load('arc1d_nca')`.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics, notes=notes,
        usage="import cax_zoo\nfrom cax_zoo._families._arc1d_nca import evaluate\n"
              "model = cax_zoo.load('arc1d_nca')\nresult = evaluate(model, indices=range(15, 30))",
    )
    release_run(model, NAME, root=run.out, card=card, metrics=metrics, push_to_hub=run.push_to_hub)
    return 0


def _add_arguments(parser) -> None:
    parser.add_argument("--data", default=None, help="1D-ARC root folder (default $CAX_ZOO_DATA/1d-arc)")
    parser.add_argument("--notes", default=None, help="text added to the model card")


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE,
        add_arguments=_add_arguments))


if __name__ == "__main__":
    raise SystemExit(main())
