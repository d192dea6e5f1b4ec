"""Recipe: train a diffusing neural CA (Faldor & Cully 2025, CAX) that turns noise into a target image.

    cax-zoo train diffusing_nca --out runs/diffusing_lizard           # the lizard emoji, paper config
    cax-zoo train diffusing_nca --target me.png --out runs/me           # your own RGBA image
    python -m recipes.diffusing_nca --smoke --out /tmp/smoke            # seconds (CI)

As in CAX's notebook: each iteration draws a batch of noisy copies of the target
(``clip((1 - a) target + a N(0, 1), 0, 1)``, ``a`` uniform in [0, 1]), runs the NCA for
``rollout_min``-``rollout_max`` steps and minimises the RGBA mean squared error to the
target at the last step. Two options go beyond the paper (off in its config):
``noise_power`` draws ``a = u ** noise_power`` (below 1: more often near pure noise), and
``pool_size`` > 0 keeps the results in a pool, as the growing NCA does, so the model also
learns to hold the image and to regrow it: each batch mixes ``fresh`` new noisy samples
with pool samples, of which the best ``damage`` get a disc cut out.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cax_zoo import ConfigError, DiffusingNCA
from cax_zoo.diffusing_nca import add_noise, evaluate
from cax_zoo.growing_nca import LIZARD, TARGET_FILE, emoji_target, image_target, target_png
from cax_zoo.training import (
    RecipeRun, begin, circle_masks, drive, finish, initial_model, key_data, make_optimizer, model_card,
    order_by_loss, parse_recipe_args, pool_sample, pool_update, rgba_mse, rollout_up_to, run_main,
    trainable_arrays,
)

PAPER = "Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), diffusing NCA"

FULL: dict[str, Any] = {  # CAX's notebook 43 and the paper's appendix
    "seed": 0,
    "steps": 8192,
    "batch_size": 8,
    "rollout_min": 64,
    "rollout_max": 64,
    "lr": 1e-3,
    "lr_schedule": "linear",
    "lr_boundaries": [2000],
    "lr_decay": 0.1,
    "clip_norm": 1.0,
    "normalize_gradients": False,
    "target_size": 40,
    "padding": 16,
    "num_channels": 64,
    "hidden_units": 256,
    "fire_rate": 0.5,
    "noise_power": 1.0,
    "pool_size": 0,  # 0: every sample fresh noise (the paper)
    "fresh": 8,  # fresh noisy samples per batch when there is a pool
    "damage": 0,
    "checkpoint_every": 100,
}
PREVIEW = ["--steps", "64", "--damage-at", "32", "--every", "8", "--fps", "10", "--seed", "0"]
PREVIEW_SMOKE = ["--steps", "8", "--damage-at", "4", "--seed", "0"]
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "rollout_min": 3, "rollout_max": 5, "target_size": 8, "padding": 2,
    "num_channels": 8, "hidden_units": 16, "pool_size": 4, "fresh": 1, "damage": 1, "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`DiffusingNCA`)."""
    for name in ("steps", "batch_size", "rollout_min", "rollout_max", "target_size", "checkpoint_every", "fresh"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("pool_size", "damage", "padding"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {v!r}")
    for name, hi in (("lr", 10.0), ("noise_power", 100.0), ("clip_norm", 1e6)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= hi and not (name == "clip_norm"
                                                                                              and v == 0):
            raise ConfigError(f"{name} must be a number in (0, {hi:g}], got {v!r}")
    if cfg["rollout_min"] > cfg["rollout_max"]:
        raise ConfigError(f"rollout_min ({cfg['rollout_min']}) must not exceed rollout_max ({cfg['rollout_max']})")
    if cfg["pool_size"]:
        if cfg["batch_size"] > cfg["pool_size"]:
            raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
        if cfg["fresh"] + cfg["damage"] > cfg["batch_size"]:
            raise ConfigError(f"fresh + damage ({cfg['fresh']} + {cfg['damage']}) must not exceed batch_size "
                              f"({cfg['batch_size']})")
    elif cfg["damage"]:
        raise ConfigError("damage needs a pool (pool_size > 0): fresh noise has nothing to cut")
    return cfg


def create_model(cfg: dict[str, Any], target: np.ndarray | None = None) -> DiffusingNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return DiffusingNCA(num_channels=cfg["num_channels"], hidden_units=cfg["hidden_units"],
                        fire_rate=cfg["fire_rate"], size=cfg["target_size"] + 2 * cfg["padding"],
                        steps=cfg["rollout_max"], target=target, key=jax.random.PRNGKey(cfg["seed"]))


FROZEN = ("target",)  # what the optimiser leaves alone: trainable_arrays(model, FROZEN)


def make_train_step(optimizer, cfg: dict[str, Any]):
    """The jitted training iteration (see the module docstring)."""
    b, t_min, t_max = cfg["batch_size"], cfg["rollout_min"], cfg["rollout_max"]
    pool_size, n_fresh, n_damage, power = cfg["pool_size"], cfg["fresh"], cfg["damage"], cfg["noise_power"]

    def fresh(model, n, key):
        k_level, k_noise = jax.random.split(key)
        levels = jax.random.uniform(k_level, (n,)) ** power
        rgba = add_noise(jnp.broadcast_to(model.target, (n,) + model.target.shape), levels, k_noise)
        hidden = jnp.zeros(rgba.shape[:-1] + (model.num_channels - 4,), rgba.dtype)
        return jnp.concatenate([rgba, hidden], axis=-1)

    @eqx.filter_jit
    def train_step(model, opt_state, pool, key):
        k_pool, k_fresh, k_dmg, k_len, k_roll = jax.random.split(key, 5)
        if pool_size:
            idx, batch = pool_sample(pool, k_pool, b)
            batch = order_by_loss(batch, rgba_mse(batch, model.target))
            batch = batch.at[:n_fresh].set(fresh(model, n_fresh, k_fresh))
            if n_damage:
                batch = batch.at[b - n_damage :].multiply(circle_masks(k_dmg, n_damage, batch.shape[1:3]))
        else:
            idx, batch = None, fresh(model, b, k_fresh)
        n = jax.random.randint(k_len, (), t_min, t_max + 1)
        params, static = eqx.partition(model, trainable_arrays(model, FROZEN))

        def loss_fn(p):
            m = eqx.combine(p, static)
            final = rollout_up_to(m, batch, n, t_max, k_roll)
            return jnp.mean(rgba_mse(final, m.target)), final

        (loss, final), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        model = eqx.combine(eqx.apply_updates(params, updates), static)
        if pool_size:
            pool = pool_update(pool, idx, jax.lax.stop_gradient(final))
        return model, opt_state, pool, loss

    return train_step


def _target(run: RecipeRun, cfg) -> tuple[np.ndarray, str]:
    if run.options.target is not None:
        return image_target(run.options.target, size=cfg["target_size"], padding=cfg["padding"]), \
            f"image {run.options.target}"
    char = run.options.emoji
    return emoji_target(char, size=cfg["target_size"], padding=cfg["padding"]), \
        f"emoji U+{ord(char[0]):04X} (Noto Color Emoji)"


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    target_np, target_desc = _target(run, cfg)
    name = "diffusing_nca/lizard" if run.options.target is None and run.options.emoji == LIZARD else "diffusing_nca"
    if run.name != name:
        run.name = name
    model = initial_model(run, lambda: create_model(cfg, target_np))
    if model.size != target_np.shape[0]:
        raise ConfigError(f"the model denoises {model.size}x{model.size} grids but the target is "
                          f"{target_np.shape[0]}x{target_np.shape[1]}: set --config target_size=... --config "
                          f"padding=... so that target_size + 2 padding = {model.size}")
    model = eqx.tree_at(lambda m: m.target, model, jnp.asarray(target_np))
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=cfg["normalize_gradients"], clip_norm=cfg["clip_norm"])
    opt_state = optimizer.init(eqx.filter(model, trainable_arrays(model, FROZEN)))
    base_key = jax.random.PRNGKey(cfg["seed"])
    pool = (model.init_state(key=jax.random.fold_in(base_key, -1 % 2**31), batch_size=cfg["pool_size"])
            if cfg["pool_size"] else jnp.zeros((0,), jnp.float32))
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    step_fn = make_train_step(optimizer, cfg)

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc="diffusing_nca", meta={"seed": cfg["seed"], "key_data": key_data(base_key),
                                                "target": target_desc})
    if not trained.completed:
        return 0
    model = trained.model
    metrics = evaluate(model, num_seeds=8 if run.smoke else 32)
    metrics = {**metrics, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    card = model_card(
        f"{name}{' (smoke test)' if run.smoke else ''}",
        summary=f"A diffusing neural CA trained to turn Gaussian noise into {target_desc} on a "
                f"{model.size}x{model.size} grid in {model.steps} steps (the target ships as target.png).",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes="Metrics: `mse_from_noise` is the RGBA MSE to the target after "
              f"{model.steps} steps from pure noise (mean of 32 noise draws never used in training); "
              "`mse_after_regrow` the same after a disc of radius size/5 is cut out of those results and "
              f"{model.steps} more steps run; `mse_by_noise` from partial noise levels; `final_train_loss` "
              "the mean training loss of the last 50 iterations.",
        usage=f"import jax, cax_zoo\nmodel = cax_zoo.load({name!r})\nnoise = model.init_state(key=jax.random.PRNGKey(0))\n"
              f"final = model.rollout(noise, model.steps, key=jax.random.PRNGKey(1))\nimage = model.render(final)",
    )
    finish(run, model, name=name, card=card, metrics=metrics, history=trained.history,
           run_args=PREVIEW_SMOKE if run.smoke else PREVIEW,
           files={TARGET_FILE: target_png(target_np, source=target_desc, target_size=cfg["target_size"],
                                          padding=cfg["padding"])})
    return 0


def _add_arguments(parser) -> None:
    parser.add_argument("--target", default=None, metavar="PATH.png", help="denoise into your own RGBA image")
    parser.add_argument("--emoji", default=LIZARD, help="the emoji (default the lizard U+1F98E)")


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name="diffusing_nca/lizard", description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE,
        add_arguments=_add_arguments))


if __name__ == "__main__":
    raise SystemExit(main())
