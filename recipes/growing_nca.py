"""Recipe: train a growing (and regenerating) neural CA (Mordvintsev et al. 2020).

    cax-zoo train growing_nca --out runs/lizard                    # the lizard emoji, paper config
    cax-zoo train growing_nca --target me.png --out runs/me         # your own RGBA image
    python -m recipes.growing_nca --smoke --out /tmp/smoke           # seconds (CI)

The paper's "regenerating" experiment: a pool of states; each iteration samples a batch,
sorts it by loss, replaces the worst sample with the seed and damages the best ones with
a random disc, runs 64-96 steps, and minimises the RGBA mean squared error to the target
at the last step. With ``damage=0`` it is the paper's "persistent" experiment (the pool,
no damage); the lizard trained so is released as ``growing_nca/lizard_persistent``
(``cax-zoo train growing_nca/lizard_persistent``, recipes/growing_nca_persistent.py).

The release ships the exact target (``target.png``), the loss curve (``training.png``)
and a grow / cut / regrow ``preview.gif``. An emoji target is read from a release's
``target.png`` when one holds it at this ``target_size`` and ``padding`` (the pretrained
model's for ``--init pretrained``, the shipped lizard's), so that no emoji font is needed.
"""

from __future__ import annotations

from typing import Any

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import cax_zoo
from cax_zoo import ConfigError, GrowingNCA
from cax_zoo.growing_nca import (
    LIZARD, TARGET_FILE, emoji_about, emoji_target, evaluate, image_target, read_target_png, released_target,
    target_png,
)
from cax_zoo.training import (
    RecipeRun, begin, circle_masks, constrain_leading, constrain_replicated, data_mesh, drive, finish, initial_model,
    key_data, make_optimizer, model_card, order_by_loss, parse_recipe_args, pool_sample, pool_update, replicate,
    rgba_mse, rollout_up_to, run_main,
)

PERSISTENT = "growing_nca/lizard_persistent"  # the lizard of the persistent experiment (damage 0)
PAPER = "Mordvintsev, Randazzo, Niklasson & Levin 2020, Distill, 'Growing Neural Cellular Automata'"

FULL: dict[str, Any] = {
    "seed": 0,
    "steps": 8000,
    "batch_size": 8,
    "pool_size": 1024,
    "rollout_min": 64,
    "rollout_max": 96,
    "damage": 3,  # best samples of each batch damaged (0: the "persistent" experiment)
    "damage_radius": [0.1, 0.4],  # the damage disc's radius, uniform in this range (fraction of half the grid)
    "lr": 2e-3,
    "lr_schedule": "piecewise",
    "lr_boundaries": [2000],
    "lr_decay": 0.1,
    "normalize_gradients": True,
    "target_size": 40,
    "padding": 16,
    "num_channels": 16,
    "hidden_units": 128,
    "fire_rate": 0.5,
    "checkpoint_every": 100,
    "devices": 1,  # data parallel over this many devices (0: all); batch_size and pool_size divisible by it
    # the MLP runs only on the cells whose update can reach the result, up to this fraction
    # of the batch's cells (more: every cell, that step); 0: every cell, always. Same states,
    # gradients to float rounding
    "active_cells": 0.15,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "pool_size": 4, "rollout_min": 3, "rollout_max": 5,
    "damage": 1, "target_size": 8, "padding": 2, "hidden_units": 16, "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's own constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`GrowingNCA`)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_min", "rollout_max", "target_size", "checkpoint_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    lr = cfg["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 10:
        raise ConfigError(f"lr must be a number in (0, 10], got {lr!r}")
    if not 0 <= cfg["damage"] < cfg["batch_size"]:
        raise ConfigError(f"damage must be in [0, batch_size={cfg['batch_size']}), got {cfg['damage']!r}")
    radius = cfg["damage_radius"]
    if (not isinstance(radius, (list, tuple)) or len(radius) != 2
            or not all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in radius)
            or not 0 < radius[0] <= radius[1] <= 2):
        raise ConfigError(f"damage_radius must be [low, high] with 0 < low <= high <= 2, got {radius!r}")
    if cfg["rollout_min"] > cfg["rollout_max"]:
        raise ConfigError(f"rollout_min ({cfg['rollout_min']}) must not exceed rollout_max ({cfg['rollout_max']})")
    if cfg["batch_size"] > cfg["pool_size"]:
        raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
    return cfg


def create_model(cfg: dict[str, Any]) -> GrowingNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return GrowingNCA(num_channels=cfg["num_channels"], hidden_units=cfg["hidden_units"],
                      fire_rate=cfg["fire_rate"], size=cfg["target_size"] + 2 * cfg["padding"],
                      default_steps=cfg["rollout_max"], key=jax.random.PRNGKey(cfg["seed"]))


# cax-zoo run arguments of the release's preview.gif: grow, cut at the middle, regrow
PREVIEW = ["--steps", "160", "--damage-at", "80", "--every", "8", "--fps", "10", "--seed", "0"]
PREVIEW_SMOKE = ["--steps", "8", "--damage-at", "4", "--seed", "0"]


_create = create_model  # the name benchmarks/run.py uses


def make_train_step(optimizer, cfg: dict[str, Any], mesh=None):
    """The jitted training iteration. With a ``mesh`` (data parallel) the batch is split
    over its devices for the rollout; the model and optimiser state stay replicated."""
    b, t_min, t_max, n_damage = cfg["batch_size"], cfg["rollout_min"], cfg["rollout_max"], cfg["damage"]

    @eqx.filter_jit
    def train_step(model, opt_state, pool, seed, target, key):
        k_pool, k_dmg, k_len, k_roll = jax.random.split(key, 4)
        idx, batch = pool_sample(pool, k_pool, b)
        batch = order_by_loss(batch, rgba_mse(batch, target))
        batch = batch.at[0].set(seed)
        if n_damage:
            masks = circle_masks(k_dmg, n_damage, batch.shape[1:3], radius=tuple(cfg["damage_radius"]))
            batch = batch.at[b - n_damage :].multiply(masks)
        batch = constrain_leading(batch, mesh)
        n = jax.random.randint(k_len, (), t_min, t_max + 1)

        def loss_fn(m):
            final = rollout_up_to(m, batch, n, t_max, k_roll, active_cells=cfg["active_cells"])
            return jnp.mean(rgba_mse(final, target)), final

        (loss, final), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        pool = constrain_leading(pool_update(pool, idx, jax.lax.stop_gradient(final)), mesh)
        model, opt_state = constrain_replicated((model, opt_state), mesh)
        return model, opt_state, pool, loss

    return train_step


def _release_folders(run: RecipeRun) -> list[Path]:
    """Release folders whose ``target.png`` may hold this run's emoji target: the
    pretrained model's (``--init pretrained``), the shipped one of ``run.name``, then the
    shipped lizard's."""
    folders = []
    if run.init == "pretrained" and run.pretrained is not None and Path(run.pretrained).is_dir():
        folders.append(Path(run.pretrained))
    for name in dict.fromkeys([run.pretrained or run.name, run.name, "growing_nca/lizard"]):
        if name and name in cax_zoo.list_models(pretrained=True):
            folders.append(cax_zoo.weights_root() / name)
    return folders


def _target(run: RecipeRun, cfg) -> tuple[np.ndarray, str, dict[str, Any]]:
    """The target, what the card calls it, and what ``target.png`` records of it."""
    size, pad = cfg["target_size"], cfg["padding"]
    if run.options.target is not None:
        return image_target(run.options.target, size=size, padding=pad), f"image {run.options.target}", \
            {"image": Path(run.options.target).name, "target_size": size, "padding": pad}
    char = run.options.emoji
    about = emoji_about(char, size=size, padding=pad)
    desc = f"emoji U+{ord(char[0]):04X} (Noto Color Emoji)"
    for folder in _release_folders(run):
        shipped = released_target(folder, char=char, size=size, padding=pad)
        if shipped is not None:
            return shipped, desc, about
    try:
        return emoji_target(char, size=size, padding=pad), desc, about
    except cax_zoo.DataError as e:  # no emoji font: say which config the shipped target.png has
        hint = _shipped_config_hint(run)
        raise cax_zoo.DataError(f"{e}{'; ' + hint if hint else ''}") from None


def _shipped_config_hint(run: RecipeRun) -> str:
    """``--config target_size=.. --config padding=..`` of a shipped target.png of this emoji."""
    for folder in _release_folders(run):
        if (folder / TARGET_FILE).is_file():
            _, about = read_target_png(folder / TARGET_FILE)
            if about.get("emoji") == run.options.emoji:
                return (f"the {TARGET_FILE} shipped in {folder} is this emoji at --config target_size="
                        f"{about['target_size']} --config padding={about['padding']}")
    return ""


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    mesh = data_mesh(cfg.get("devices", 1), divides={"batch_size": cfg["batch_size"], "pool_size": cfg["pool_size"]})
    lizard = run.options.target is None and run.options.emoji == LIZARD
    name = (PERSISTENT if cfg["damage"] == 0 else "growing_nca/lizard") if lizard else "growing_nca"
    if run.name != name:
        run.name = name
    target_np, target_desc, target_about = _target(run, cfg)
    model = initial_model(run, lambda: create_model(cfg))
    if model.size != target_np.shape[0]:
        hint = _shipped_config_hint(run)
        raise ConfigError(f"the model grows {model.size}x{model.size} grids but the target is "
                          f"{target_np.shape[0]}x{target_np.shape[1]} (target_size + 2 padding): pass --config "
                          f"target_size=.. --config padding=.. that add up to {model.size}"
                          + (f" ({hint})" if hint else ""))
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=cfg["normalize_gradients"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    seed = model.init_state()
    pool = model.init_state(batch_size=cfg["pool_size"])
    target = jnp.asarray(target_np)
    base_key = jax.random.PRNGKey(cfg["seed"])
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    if mesh is not None:  # data parallel: the model and these replicated, the pool sharded (by drive)
        seed, target = replicate((seed, target), mesh)
    step_fn = make_train_step(optimizer, cfg, mesh)

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], seed, target,
                                jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc="growing_nca", mesh=mesh, shard=("pool",),
                    meta={"seed": cfg["seed"], "key_data": key_data(base_key), "target": target_desc})
    if not trained.completed:
        return 0
    model = trained.model  # default_steps = rollout_max (initial_model sets it for a fine-tuned one too)
    metrics = evaluate(model, target=target_np, steps=cfg["rollout_max"])
    metrics = {**metrics, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    card = model_card(
        f"{name}{' (smoke test)' if run.smoke else ''}",
        summary=f"A growing neural CA trained to grow and "
                f"{'regenerate' if cfg['damage'] else 'keep (no damage in training)'} {target_desc} "
                f"from one seed cell on a {model.size}x{model.size} grid.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes="Metrics: `loss` is the RGBA MSE to the target after "
              f"{cfg['rollout_max']} steps from the seed (mean of 8 runs); `loss_after_regrow` the same "
              f"after a disc of radius size/5 is cut out and {cfg['rollout_max']} more steps run; "
              "`final_train_loss` the mean training loss of the last 50 iterations.",
        usage=f"import cax_zoo\nmodel = cax_zoo.load({name!r})\nfinal = model.rollout(model.init_state(), "
              f"{cfg['rollout_max']}, key=__import__('jax').random.PRNGKey(0))\nimage = model.render(final)",
    )
    finish(run, model, name=name, card=card, metrics=metrics, history=trained.history,
           run_args=PREVIEW_SMOKE if run.smoke else PREVIEW,
           files={TARGET_FILE: target_png(target_np, **target_about)})
    return 0


def add_arguments(parser) -> None:
    """The recipe's own options: ``--target`` and ``--emoji``."""
    parser.add_argument("--target", default=None, metavar="PATH.png", help="grow your own RGBA image")
    parser.add_argument("--emoji", default=LIZARD, help="the emoji to grow (default the lizard U+1F98E)")


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name="growing_nca/lizard", description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE,
        add_arguments=add_arguments))


if __name__ == "__main__":
    raise SystemExit(main())
