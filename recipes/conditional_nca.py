"""Recipe: train a growing conditional neural CA (Faldor & Cully 2025, CAX) that grows any of eight animal emoji.

    cax-zoo train conditional_nca/animals --out runs/animals          # CAX's notebook config
    python -m recipes.conditional_nca --smoke --out /tmp/smoke           # seconds (CI)

As in CAX's notebook 41: one NCA, eight targets (🐶🐱🐭🐹🐰🦊🐻🐼), each chosen by a one-hot
label that the update receives at every step (``rollout(state, n, input=label)``). A pool
holds (state, label) pairs, started as seeds with random labels; each iteration samples a
batch, sorts it by loss, replaces the worst pair with a seed and a new random label, runs
``rollout_max`` steps and minimises the RGBA mean squared error to each pair's target at a
random step in [``rollout_min``, ``rollout_max``] of each sample (CAX: the second half of
the 64 steps), whose states go back to the pool. ``damage`` > 0 (off in CAX's config)
also cuts a random disc out of the best samples, as the growing NCA's regeneration
experiment does. The release ships the eight targets (``target_<name>.png``) inside the
model, so running and evaluating it need no emoji font.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cax_zoo import ConditionalNCA, ConfigError
from cax_zoo.conditional_nca import ANIMAL_NAMES, ANIMALS, animal_targets, evaluate
from cax_zoo.growing_nca import TARGET_FILE, emoji_about, target_png
from cax_zoo.training import (
    RecipeRun, begin, circle_masks, config_differences, drive, finish, initial_model, key_data, make_optimizer,
    model_card, order_by_loss, parse_recipe_args, pool_sample, pool_update, rgba_mse, run_main, trainable_arrays,
)

PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "growing conditional NCA")
NAME = "conditional_nca/animals"

FULL: dict[str, Any] = {  # CAX's notebook 41
    "seed": 0,
    "steps": 8192,
    "batch_size": 8,
    "pool_size": 1024,
    "rollout_min": 33,  # the loss is taken after 33-64 steps (CAX: intermediate state 32-63 of 64)
    "rollout_max": 64,
    "damage": 0,
    "lr": 1e-3,
    "lr_schedule": "linear",
    "lr_boundaries": [50_000],  # CAX: linear to 0.1 lr over 50,000 steps (so 1e-3 -> 8.5e-4 in 8,192)
    "lr_decay": 0.1,
    "clip_norm": 1.0,
    "normalize_gradients": False,
    "target_size": 40,
    "padding": 16,
    "num_channels": 32,
    "hidden_units": 256,
    "fire_rate": 0.5,
    "checkpoint_every": 100,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "pool_size": 4, "rollout_min": 3, "rollout_max": 5, "damage": 1,
    "target_size": 8, "padding": 2, "num_channels": 8, "hidden_units": 16, "checkpoint_every": 2,
}
# cax-zoo run arguments of the release's preview.gif: the fox grows for twice its training time (as CAX shows it)
PREVIEW = ["--target", "fox", "--steps", "128", "--every", "8", "--fps", "8", "--seed", "0"]
PREVIEW_SMOKE = ["--target", "cat", "--steps", "8", "--damage-at", "4", "--seed", "0"]


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`ConditionalNCA`)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_min", "rollout_max", "target_size",
                 "checkpoint_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("damage", "padding"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {v!r}")
    for name, hi in (("lr", 10.0), ("clip_norm", 1e6)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v <= hi or name == "clip_norm"
                                                                          and v == 0):
            raise ConfigError(f"{name} must be a number in (0, {hi:g}], got {v!r}")
    if cfg["rollout_min"] > cfg["rollout_max"]:
        raise ConfigError(f"rollout_min ({cfg['rollout_min']}) must not exceed rollout_max ({cfg['rollout_max']})")
    if cfg["batch_size"] > cfg["pool_size"]:
        raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
    if cfg["damage"] >= cfg["batch_size"]:
        raise ConfigError(f"damage must be in [0, batch_size={cfg['batch_size']}), got {cfg['damage']}")
    return cfg


def create_model(cfg: dict[str, Any], targets: np.ndarray | None = None) -> ConditionalNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return ConditionalNCA(num_channels=cfg["num_channels"], hidden_units=cfg["hidden_units"],
                          fire_rate=cfg["fire_rate"], size=cfg["target_size"] + 2 * cfg["padding"],
                          steps=cfg["rollout_max"], names=ANIMAL_NAMES, emojis=ANIMALS, targets=targets,
                          key=jax.random.PRNGKey(cfg["seed"]))


FROZEN = ("targets",)  # what the optimiser leaves alone: trainable_arrays(model, FROZEN)


def make_train_step(optimizer, cfg: dict[str, Any]):
    """The jitted training iteration (see the module docstring)."""
    b, t_min, t_max, n_damage = cfg["batch_size"], cfg["rollout_min"], cfg["rollout_max"], cfg["damage"]

    @eqx.filter_jit
    def train_step(model, opt_state, pool, key):
        k_pool, k_label, k_dmg, k_at, k_roll = jax.random.split(key, 5)
        idx, batch = pool_sample(pool, k_pool, b)
        batch = order_by_loss(batch, rgba_mse(batch["state"], model.targets[batch["label"]]))
        batch = {"state": batch["state"].at[0].set(model.init_state()),
                 "label": batch["label"].at[0].set(jax.random.randint(k_label, (), 0, model.num_labels))}
        states = batch["state"]
        if n_damage:
            states = states.at[b - n_damage :].multiply(circle_masks(k_dmg, n_damage, states.shape[1:3]))
        labels = jax.nn.one_hot(batch["label"], model.num_labels, dtype=states.dtype)
        targets = model.targets[batch["label"]]
        at = jax.random.randint(k_at, (b,), t_min, t_max + 1)  # each sample's loss step
        params, static = eqx.partition(model, trainable_arrays(model, FROZEN))

        def loss_fn(p):
            m = eqx.combine(p, static)
            _, traj = m.rollout(states, t_max, input=labels, key=k_roll, trajectory=True)
            picked = traj[jnp.arange(b), at]  # (B, H, W, C): sample i after at[i] steps
            return jnp.mean(rgba_mse(picked, targets)), picked

        (loss, picked), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        model = eqx.combine(eqx.apply_updates(params, updates), static)
        pool = pool_update(pool, idx, {"state": jax.lax.stop_gradient(picked), "label": batch["label"]})
        return model, opt_state, pool, loss

    return train_step


def initial_pool(model: ConditionalNCA, size: int, key) -> dict[str, Any]:
    """``size`` seeds, each with a random label (CAX's pool)."""
    return {"state": model.init_state(batch_size=size),
            "label": jax.random.randint(key, (size,), 0, model.num_labels)}


def target_files(model: ConditionalNCA, cfg: dict[str, Any]) -> dict[str, bytes]:
    """The release's target images, ``target_<name>.png``, one per label."""
    stem, suffix = Path(TARGET_FILE).stem, Path(TARGET_FILE).suffix
    return {f"{stem}_{name}{suffix}": target_png(np.asarray(t), **emoji_about(e, size=cfg["target_size"],
                                                                                padding=cfg["padding"]))
            for name, e, t in zip(model.names, model.emojis, model.targets)}


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    if run.name != NAME:
        run.name = NAME
    size, pad = cfg["target_size"], cfg["padding"]
    # a fresh model renders the emoji (font needed); a pretrained one brings its own targets
    model = initial_model(run, lambda: create_model(
        cfg, animal_targets(ANIMALS, size=size, padding=pad) if run.init == "random" else None))
    if model.size != size + 2 * pad:
        raise ConfigError(f"the model grows {model.size}x{model.size} grids but target_size + 2 padding is "
                          f"{size + 2 * pad}: pass --config target_size=.. --config padding=.. that add up to "
                          f"{model.size}")
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=cfg["normalize_gradients"], clip_norm=cfg["clip_norm"])
    opt_state = optimizer.init(eqx.filter(model, trainable_arrays(model, FROZEN)))
    base_key = jax.random.PRNGKey(cfg["seed"])
    pool = initial_pool(model, cfg["pool_size"], jax.random.fold_in(base_key, -1 % 2**31))
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    step_fn = make_train_step(optimizer, cfg)

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc="conditional_nca", meta={"seed": cfg["seed"], "key_data": key_data(base_key),
                                                  "targets": "".join(ANIMALS)})
    if not trained.completed:
        return 0
    model = trained.model
    metrics = evaluate(model, num_seeds=2 if run.smoke else 8)
    metrics = {**metrics, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    card = model_card(
        f"{NAME}{' (smoke test)' if run.smoke else ''}",
        summary=f"A growing conditional neural CA that grows any of eight animal emoji ({''.join(ANIMALS)}, "
                f"Noto Color Emoji) from one seed cell on a {model.size}x{model.size} grid, chosen by a one-hot "
                "label given as input to every step (the targets ship in the model and as target_<name>.png).",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes=f"Scale: {cfg['target_size']}-px targets on a {model.size}x{model.size} grid, {cfg['num_channels']} "
              f"channels, hidden layer {cfg['hidden_units']}, loss after {cfg['rollout_min']}-{cfg['rollout_max']} "
              f"steps, {cfg['steps']} iterations. " + config_differences(cfg, FULL) + "\n\n"
              "Metrics: `mse_per_target` is the RGBA MSE to each target after "
              f"{model.steps} steps from the seed with its label (mean of 8 runs whose keys were never used in "
              "training); `mse_mean` / `mse_max` the mean / worst over the targets; "
              "`mse_after_regrow_per_target` the same after a disc of radius size/5 is cut out and "
              f"{model.steps} more steps run; `final_train_loss` the mean training loss of the last 50 "
              "iterations.",
        usage=f"import jax, cax_zoo\nmodel = cax_zoo.load({NAME!r})\n"
              f"final = model.rollout(model.init_state(), {model.steps}, input=model.label('fox'), "
              "key=jax.random.PRNGKey(0))\nimage = model.render(final)\n"
              "# halfway between two animals (CAX's latent interpolation)\n"
              f"mix = model.rollout(model.init_state(), {model.steps}, input=model.interpolate('cat', 'panda', 0.5), "
              "key=jax.random.PRNGKey(0))",
    )
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history,
           run_args=PREVIEW_SMOKE if run.smoke else PREVIEW, files=target_files(model, cfg))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE))


if __name__ == "__main__":
    raise SystemExit(main())
