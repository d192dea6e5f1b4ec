"""Recipe: train an attention NCA (CAX's ViT NCA, Faldor & Cully 2025) to inpaint half-hidden MNIST digits.

    cax-zoo train attention_nca/mnist_inpaint --out runs/attention_inpaint     # CAX's notebook config
    python -m recipes.attention_nca --smoke --out /tmp/smoke                   # a tiny run (CI)

As in CAX's notebook 47: a pool of ``pool_size`` states, each a random training digit
with a share ``mask_ratio`` of its pixels set to 0 (a fresh mask per sample) in the last
channel, the other channels zero. Each iteration samples ``batch_size`` of them, sorts
them by loss (worst first), replaces the worst with a fresh masked digit, runs
``rollout_steps`` steps (each cell firing with probability ``fire_rate``, CAX's cell
dropout) and minimises the mean squared error between the last channel and the whole
digit; the results go back into the pool. Adam on gradients clipped to global norm 1,
the learning rate falling linearly from ``lr`` to ``lr * lr_decay`` over
``lr_boundaries[0]`` iterations. Training uses the first 55,000 MNIST training digits;
the last 5,000 are held out and ``val_masked_mse`` (the MSE on the hidden pixels) is
measured on the first ``val_limit`` of them at the end. The test set is left to
``cax-zoo eval attention_nca/mnist_inpaint``.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cax_zoo import AttentionNCA, ConfigError
from cax_zoo.attention_nca import score_inpainting, visible_pixels
from cax_zoo.mnist import load_mnist
from cax_zoo.training import (
    config_differences,
    RecipeRun, begin, drive, finish, initial_model, key_data, make_optimizer, model_card, order_by_loss,
    parse_recipe_args, pool_sample, pool_update, run_main,
)

NAME = "attention_nca/mnist_inpaint"
PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "attention-based NCA")
NUM_VALIDATION = 5000  # the last 5,000 training digits: never trained on
MODEL_KEYS = ("size", "num_channels", "num_features", "num_heads", "qkv_size", "projection_size",
              "position_features", "hidden_units", "fire_rate", "mask_ratio")

FULL: dict[str, Any] = {  # CAX's notebook 47 (examples/47_attention_nca.ipynb)
    "seed": 0,
    "steps": 8196,  # CAX's num_train_steps (sic)
    "batch_size": 4,
    "pool_size": 1024,
    "rollout_steps": 32,
    "lr": 1e-3,
    "lr_schedule": "linear",
    "lr_boundaries": [4096],
    "lr_decay": 0.1,  # linear from 1e-3 to 1e-4 over 4,096 iterations, then constant
    "clip_norm": 1.0,
    "size": 28,
    "num_channels": 32,
    "num_features": 64,  # CAX's perception_size
    "num_heads": 4,
    "qkv_size": 128,  # CAX's hidden_size, in the attention
    "projection_size": 32,
    "position_features": 4,
    "hidden_units": 128,  # CAX's hidden_size, in the update MLP
    "fire_rate": 0.5,  # 1 - CAX's cell dropout rate
    "mask_ratio": 0.5,
    "val_limit": 5000,
    "checkpoint_every": 256,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "pool_size": 6, "rollout_steps": 3, "size": 8, "num_channels": 4,
    "num_features": 8, "num_heads": 2, "qkv_size": 8, "projection_size": 4, "position_features": 2,
    "hidden_units": 8, "val_limit": 8, "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`~cax_zoo.AttentionNCA`)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_steps", "checkpoint_every", "val_limit"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if cfg["batch_size"] > cfg["pool_size"]:
        raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
    if cfg["val_limit"] > NUM_VALIDATION:
        raise ConfigError(f"val_limit must be at most {NUM_VALIDATION} (the held-out digits), got {cfg['val_limit']}")
    for name, lo, hi in (("lr", 0.0, 10.0), ("lr_decay", 0.0, 1.0), ("mask_ratio", 0.0, 1.0)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < v <= hi:
            raise ConfigError(f"{name} must be a number in ({lo:g}, {hi:g}], got {v!r}")
    v = cfg["clip_norm"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1e6:
        raise ConfigError(f"clip_norm must be a number in [0, 1e6] (0: no clipping), got {v!r}")
    if not isinstance(cfg["lr_boundaries"], list) or len(cfg["lr_boundaries"]) > 1:
        raise ConfigError(f"lr_boundaries must be a list of at most one step (the end of the linear decay), "
                          f"got {cfg['lr_boundaries']!r}")
    return cfg


def create_model(cfg: dict[str, Any]) -> AttentionNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return AttentionNCA(**{k: cfg[k] for k in MODEL_KEYS}, steps=cfg["rollout_steps"],
                        key=jax.random.PRNGKey(cfg["seed"]))


def per_sample_loss(states, digits):
    """CAX's loss per sample: the MSE between the last channel and the whole digit, ``(B,)``."""
    return jnp.mean((states[..., -1] - digits) ** 2, axis=(-2, -1))


def make_train_step(optimizer, cfg: dict[str, Any], train_digits):
    """The jitted training iteration (see the module docstring); ``train_digits``
    ``(N, S, S)`` are the training digits at the model's resolution."""
    b, t, ratio = cfg["batch_size"], cfg["rollout_steps"], cfg["mask_ratio"]

    @eqx.filter_jit
    def train_step(model, opt_state, pool, key):
        k_pool, k_new, k_mask, k_roll = jax.random.split(key, 4)
        idx, batch = pool_sample(pool, k_pool, b)
        batch = order_by_loss(batch, per_sample_loss(batch["state"], train_digits[batch["digit"]]))
        new = jax.random.randint(k_new, (), 0, train_digits.shape[0])
        digit_idx = batch["digit"].at[0].set(new)
        digits = train_digits[digit_idx]
        fresh = model.masked_state(digits[0], visible_pixels(k_mask, digits.shape[1:], ratio))
        states = batch["state"].at[0].set(fresh)
        params, static = eqx.partition(model, eqx.is_array)

        def loss_fn(p):
            m = eqx.combine(p, static)

            def body(s, k):
                return jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b)), None

            final, _ = jax.lax.scan(body, states, jax.random.split(k_roll, t))
            return jnp.mean(per_sample_loss(final, digits)), final

        (loss, final), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        model = eqx.combine(eqx.apply_updates(params, updates), static)
        pool = pool_update(pool, idx, {"state": jax.lax.stop_gradient(final), "digit": digit_idx})
        return model, opt_state, pool, loss

    return train_step


def _differences(cfg: dict[str, Any]) -> str:
    scale = config_differences(cfg, FULL, ignore=("val_limit", "checkpoint_every"))
    return (f"Scale: a {cfg['size']}x{cfg['size']} grid, {cfg['num_channels']} channels, attention with "
            f"{cfg['num_heads']} heads (qkv {cfg['qkv_size']}, projection {cfg['projection_size']}, "
            f"{cfg['num_features']} features), hidden layer {cfg['hidden_units']}, {cfg['rollout_steps']} steps, "
            f"batch {cfg['batch_size']}, pool {cfg['pool_size']}, {cfg['steps']} iterations. {scale}\n\n"
            "Always different from CAX's notebook: attention is computed over each cell's 3x3 window (CAX masks "
            "full attention over the grid to the same windows: the same function); a firing cell adds the MLP "
            "output as is (CAX's dropout doubles it: the same model up to a factor 2 on the last layer); the "
            "MLP's hidden layer starts Glorot-uniform (CAX: LeCun normal); training digits are the first 55,000 "
            "of MNIST's training set, each fresh sample with its own mask (CAX draws digit and mask from one key).")


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    images, _ = load_mnist("train", data=run.options.data)
    grey = images.astype(np.float32) / 255.0
    train_grey, val_grey = grey[:-NUM_VALIDATION], grey[-NUM_VALIDATION:][: cfg["val_limit"]]
    model = initial_model(run, lambda: create_model(cfg))
    if model.size != cfg["size"]:
        raise ConfigError(f"--pretrained model works on a {model.size}x{model.size} grid; "
                          f"set --config size={model.size}")
    train_digits = model.digits(train_grey)
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=False, clip_norm=cfg["clip_norm"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    base_key = jax.random.PRNGKey(cfg["seed"])
    k_first, k_masks = jax.random.split(jax.random.fold_in(base_key, 2**31 - 1))
    first = jax.random.randint(k_first, (cfg["pool_size"],), 0, train_digits.shape[0])
    first_digits = train_digits[first]
    pool = {"state": model.masked_state(first_digits, visible_pixels(k_masks, first_digits.shape, cfg["mask_ratio"])),
            "digit": first.astype(jnp.int32)}
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    step_fn = make_train_step(optimizer, cfg, train_digits)

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc=NAME, log_every=1 if run.smoke else 16,
                    meta={"seed": cfg["seed"], "key_data": key_data(base_key)})
    if not trained.completed:
        return 0
    model = trained.model
    print(f"validating on {len(val_grey)} held-out training digits ...")
    val = score_inpainting(model, val_grey, train_grey.mean(axis=0),
                           jax.random.fold_in(base_key, 2**31 - 2), batch_size=500)
    metrics = {"val_masked_mse": val["masked_mse"], "val_baseline_masked_mse": val["baseline_masked_mse"],
               "val_mse": val["mse"], "val_num_images": val["num_images"], "steps": model.steps,
               "mask_ratio": model.mask_ratio, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    s = model.size
    card = model_card(
        f"{NAME}{' (smoke test)' if run.smoke else ''}",
        summary=f"An attention neural CA (CAX's ViT NCA: each cell attends to its 3x3 neighbourhood) that "
                f"inpaints {s}x{s} MNIST digits with {model.mask_ratio:.0%} of their pixels hidden, in "
                f"{model.steps} steps.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes=_differences(cfg) + "\n\nMetrics (at the end of training, on the last 5,000 MNIST training digits, "
              f"never trained on; the first {len(val_grey)} of them, masks never drawn in training): "
              f"`val_masked_mse` is the mean squared error on the hidden pixels after {model.steps} steps; "
              "`val_baseline_masked_mse` the same when hidden pixels are filled from the mean training digit; "
              "`val_mse` the error over every pixel; `final_train_loss` the mean training loss (CAX's, over "
              "every pixel) of the last 50 iterations. The MNIST test set is scored by "
              "`cax-zoo eval attention_nca/mnist_inpaint` (`masked_mse`, `baseline_masked_mse`, `mse`).",
        usage="import jax, cax_zoo\nmodel = cax_zoo.load('attention_nca/mnist_inpaint')\n"
              "state = model.initial_state(digits, key=jax.random.PRNGKey(0))  # (B, 28, 28) uint8 digits, masked\n"
              "final = model.rollout(state, model.steps, key=jax.random.PRNGKey(1))\n"
              "inpainted = model.reconstruction(final)  # (B, S, S)",
    )
    every = max(1, model.steps // 16)
    run_args = ["--steps", str(model.steps), "--every", str(every), "--seed", "0"]
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history, run_args=run_args)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE, data="mnist"))


if __name__ == "__main__":
    raise SystemExit(main())
