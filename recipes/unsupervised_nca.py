"""Recipe: train a growing unsupervised NCA (Faldor & Cully 2025, CAX): a VAE whose decoder is an NCA growing the digit.

    cax-zoo train unsupervised_nca/mnist --out runs/unsupervised_mnist          # CAX's notebook config
    python -m recipes.unsupervised_nca --smoke --out /tmp/smoke                 # seconds (CI)

As in CAX's notebook 42: a pool of ``pool_size`` entries, each a state (starting as the
seed: the last channel of the centre cell 1) and a random training digit. Each iteration
samples ``batch_size`` of them, sorts them by loss (worst first) and replaces the
``fresh`` worst (CAX: 1) with seeds and new random digits (``fresh = batch_size`` trains
every sample from the seed, as the evaluation grows it); encodes the digits (``ConvEncoder``), draws
their latents by the reparameterisation trick, runs the NCA ``rollout_steps`` steps with
the latent as every step's input and, per sample, takes the state after ``n`` steps,
``n`` uniform in ``rollout_steps // 2 + 1 .. rollout_steps``. The loss is the mean squared
error between that state's last channel and the digit, plus ``kl_weight`` times the mean
KL divergence of the latents to the prior (CAX's notebook trains with none: 0). Those
states go back into the pool. Training uses the first 55,000 MNIST training digits; the
last 5,000 are held out, and ``val_mse`` is measured on the first ``val_limit`` of them at
the end. The test set is left to ``cax-zoo eval unsupervised_nca/mnist``.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cax_zoo import ConfigError, UnsupervisedNCA
from cax_zoo.mnist import load_mnist
from cax_zoo.nca import kl_divergence, reparameterize
from cax_zoo.training import (
    check_int, config_differences,
    RecipeRun, begin, drive, finish, initial_model, key_data, make_optimizer, model_card, order_by_loss,
    padded_batches, parse_recipe_args, pool_sample, pool_update, replace_first, run_main,
)
from cax_zoo.unsupervised_nca import squared_errors

NAME = "unsupervised_nca/mnist"
PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "growing unsupervised NCA")
NUM_VALIDATION = 5000  # the last 5,000 training digits: never trained on
VAL_BATCH = 250

FULL: dict[str, Any] = {  # CAX's notebook 42 (examples/42_growing_unsupervised_nca.ipynb)
    "seed": 0,
    "steps": 8192,
    "batch_size": 8,
    "pool_size": 1024,
    "fresh": 1,  # batch entries started from the seed with a new digit each iteration (CAX: 1)
    "rollout_steps": 64,
    "lr": 1e-3,
    "lr_schedule": "linear",
    "lr_boundaries": [50000],  # CAX: linear from lr to lr * 0.1 over 50,000 steps (not reached in 8,192)
    "lr_decay": 0.1,
    "clip_norm": 1.0,
    "latent_size": 8,
    "num_channels": 32,
    "hidden_units": 256,
    "encoder_features": [1, 32, 32],
    "fire_rate": 0.5,
    "kl_weight": 0.0,  # CAX's notebook: reconstruction only
    "val_limit": 1000,
    "checkpoint_every": 256,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "pool_size": 6, "rollout_steps": 4, "latent_size": 2,
    "num_channels": 4, "hidden_units": 8, "encoder_features": [1, 2, 2], "kl_weight": 0.01, "val_limit": 4,
    "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by
    :class:`~cax_zoo.UnsupervisedNCA`)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_steps", "checkpoint_every", "val_limit"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    if cfg["rollout_steps"] < 2:
        raise ConfigError(f"rollout_steps must be at least 2 (the loss is taken in its second half), "
                          f"got {cfg['rollout_steps']}")
    if cfg["batch_size"] > cfg["pool_size"]:
        raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
    check_int("fresh", cfg["fresh"], minimum=1, maximum=cfg["batch_size"])  # at most the batch
    if cfg["val_limit"] > NUM_VALIDATION:
        raise ConfigError(f"val_limit must be at most {NUM_VALIDATION} (the held-out digits), got {cfg['val_limit']}")
    for name, lo, hi in (("lr", 0.0, 10.0), ("lr_decay", 0.0, 1.0)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < v <= hi:
            raise ConfigError(f"{name} must be a number in ({lo:g}, {hi:g}], got {v!r}")
    for name, hi in (("clip_norm", 1e6), ("kl_weight", 1e6)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
            raise ConfigError(f"{name} must be a number in [0, {hi:g}], got {v!r}")
    if not isinstance(cfg["lr_boundaries"], list) or len(cfg["lr_boundaries"]) > 1:
        raise ConfigError(f"lr_boundaries must be a list of at most one step (the end of the linear decay), "
                          f"got {cfg['lr_boundaries']!r}")
    return cfg


def create_model(cfg: dict[str, Any]) -> UnsupervisedNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return UnsupervisedNCA(latent_size=cfg["latent_size"], num_channels=cfg["num_channels"],
                           hidden_units=cfg["hidden_units"], encoder_features=tuple(cfg["encoder_features"]),
                           fire_rate=cfg["fire_rate"], steps=cfg["rollout_steps"],
                           key=jax.random.PRNGKey(cfg["seed"]))


def per_sample_loss(states, digits):
    """CAX's reconstruction loss per sample: the MSE between the last channel and the
    digit, ``(B,)``."""
    return jnp.mean((states[..., -1] - digits) ** 2, axis=(-2, -1))


def make_train_step(optimizer, cfg: dict[str, Any], train_digits):
    """The jitted training iteration (see the module docstring); ``train_digits``
    ``(N, 28, 28)`` float 0-1."""
    b, t, kl_weight, fresh = cfg["batch_size"], cfg["rollout_steps"], float(cfg["kl_weight"]), cfg["fresh"]

    @eqx.filter_jit
    def train_step(model, opt_state, pool, key):
        k_pool, k_new, k_when, k_z, k_roll = jax.random.split(key, 5)
        idx, batch = pool_sample(pool, k_pool, b)
        batch = order_by_loss(batch, per_sample_loss(batch["state"], train_digits[batch["digit"]]))
        new = jax.random.randint(k_new, (fresh,), 0, train_digits.shape[0])
        batch = replace_first(batch, {"state": model.init_state(batch_size=fresh), "digit": new}, fresh)
        digit_idx, states = batch["digit"], batch["state"]
        digits = train_digits[digit_idx]
        when = jax.random.randint(k_when, (b,), t // 2 + 1, t + 1)  # CAX: intermediate index in [t/2, t)
        params, static = eqx.partition(model, eqx.is_array)

        def loss_fn(p):
            m = eqx.combine(p, static)
            mean, logvar = m.encode(digits)
            z = reparameterize(mean, logvar, k_z)
            _, traj = m.rollout(states, t, input=z, key=k_roll, trajectory=True)  # (B, t + 1, H, W, C)
            picked = traj[jnp.arange(b), when]
            recon = jnp.mean(per_sample_loss(picked, digits))
            kl = jnp.mean(kl_divergence(mean, logvar))
            return recon + kl_weight * kl, (picked, recon, kl)

        (loss, (picked, recon, kl)), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        model = eqx.combine(eqx.apply_updates(params, updates), static)
        pool = pool_update(pool, idx, {"state": jax.lax.stop_gradient(picked), "digit": digit_idx})
        return model, opt_state, pool, loss

    return train_step


def validate(model: UnsupervisedNCA, val_grey: np.ndarray, *, seed: int) -> dict[str, Any]:
    """``val_mse``: the mean per-digit MSE of the digit grown in ``model.steps`` steps from
    the mean of its encoding, on held-out training digits ``val_grey`` ``(N, 28, 28)`` in
    [0, 1], in batches of 250 (keys from ``seed``); ``val_baseline_mse`` the same for the
    mean training digit."""
    root = jax.random.fold_in(jax.random.PRNGKey(seed), 2**31 - 2)
    sq, n = 0.0, len(val_grey)
    for i, (batch,), k in padded_batches(val_grey, batch_size=VAL_BATCH):
        sq += float(jnp.sum(squared_errors(model, jnp.asarray(batch), jax.random.fold_in(root, i), model.steps)[:k]))
    return {"val_mse": sq / n, "val_num_images": n}


def _differences(cfg: dict[str, Any]) -> str:
    scale = config_differences(cfg, FULL, ignore=("val_limit", "checkpoint_every"))
    return (f"Scale: 28x28 digits, latent {cfg['latent_size']}, {cfg['num_channels']} channels, hidden layer "
            f"{cfg['hidden_units']}, encoder channels {cfg['encoder_features']}, {cfg['rollout_steps']} steps, batch "
            f"{cfg['batch_size']}, pool {cfg['pool_size']}, {cfg['steps']} iterations, KL weight {cfg['kl_weight']}. "
            f"{scale}\n\n"
            "Always different from CAX's notebook: the perception kernels (identity + 2 Sobel gradients per "
            "channel) are fixed, where CAX initialises a depthwise convolution with them (and leaves it out of "
            "the optimiser, so it stays fixed too); a firing cell adds the MLP output as is (CAX's dropout "
            "doubles it: the same model up to a factor 2 on the last layer); the pool is sampled without "
            "replacement; training digits are the first 55,000 of MNIST's training set.")


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    images, _ = load_mnist("train", data=run.options.data)
    grey = images.astype(np.float32) / 255.0
    train_grey, val_grey = grey[:-NUM_VALIDATION], grey[-NUM_VALIDATION:][: cfg["val_limit"]]
    model = initial_model(run, lambda: create_model(cfg))
    if model.size != 28:
        raise ConfigError(f"the MNIST recipe trains 28x28 models; --pretrained has size {model.size}")
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=False, clip_norm=cfg["clip_norm"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    base_key = jax.random.PRNGKey(cfg["seed"])
    first = jax.random.randint(jax.random.fold_in(base_key, 2**31 - 1), (cfg["pool_size"],), 0, len(train_grey))
    pool = {"state": model.init_state(batch_size=cfg["pool_size"]), "digit": first.astype(jnp.int32)}
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    step_fn = make_train_step(optimizer, cfg, jnp.asarray(train_grey))

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc="unsupervised_nca", log_every=1 if run.smoke else 16,
                    meta={"seed": cfg["seed"], "key_data": key_data(base_key)})
    if not trained.completed:
        return 0
    model = trained.model
    print(f"validating on {len(val_grey)} held-out training digits ...")
    metrics = validate(model, val_grey, seed=cfg["seed"])
    metrics["val_baseline_mse"] = float(np.mean((val_grey - train_grey.mean(axis=0)) ** 2))
    metrics = {**metrics, "steps": model.steps, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    card = model_card(
        f"{NAME}{' (smoke test)' if run.smoke else ''}",
        summary=f"A growing unsupervised neural CA: a convolutional encoder maps a 28x28 MNIST digit to a "
                f"{model.latent_size}-d latent, and an NCA given that latent at every step grows the digit from "
                f"one seed cell in {model.steps} steps (a VAE whose decoder is the NCA).",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes=_differences(cfg) + "\n\nMetrics (at the end of training, on the last 5,000 MNIST training digits, "
              f"never trained on; the first {len(val_grey)} of them): `val_mse` is the mean over digits of the "
              f"MSE between the last channel after {model.steps} steps from the seed, given the mean of the "
              "digit's encoding, and the digit; `val_baseline_mse` the same for the mean training digit; "
              "`final_train_loss` the mean training loss of the last 50 iterations. The MNIST test set is scored "
              "by `cax-zoo eval unsupervised_nca/mnist` (`mse`, `baseline_mse`).",
        usage="import jax, cax_zoo\nmodel = cax_zoo.load('unsupervised_nca/mnist')\n"
              "grown = model.reconstruct(digits, key=jax.random.PRNGKey(0))  # (B, 28, 28) uint8 MNIST digits\n"
              "samples = model.sample(jax.random.PRNGKey(1), 8)  # 8 digits grown from the prior N(0, I)",
    )
    every = max(1, model.steps // 24)
    run_args = ["--steps", str(model.steps), "--every", str(every), "--seed", "0"]
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history, run_args=run_args)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE, data="mnist"))


if __name__ == "__main__":
    raise SystemExit(main())
