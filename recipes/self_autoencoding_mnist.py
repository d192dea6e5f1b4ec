"""Recipe: train a self-autoencoding MNIST NCA (Faldor & Cully 2025, CAX): a 3-D NCA passes a digit through a wall.

    cax-zoo train self_autoencoding_mnist --out runs/sae_mnist                 # CAX's notebook config
    cax-zoo train self_autoencoding_mnist --config depth=4 --config num_channels=12 --config hidden_units=64 \\
        --config rollout_steps=40 --config hole=8 --config fire_rate=1.0 --config alive_mask=false \\
        --config pool_size=256 --config fresh=8 --config lr=2e-3 --config steps=2800 \\
        --config 'lr_boundaries=[2800]' --out runs/sae28                           # the release (CPU, ~1 hour)
    python -m recipes.self_autoencoding_mnist --smoke --out /tmp/smoke         # seconds (CI)

As in CAX's notebook 45: a pool of ``pool_size`` states, each started from a random
training digit on the face ``z = 0``. Each iteration samples ``batch_size`` of them,
sorts them by loss (worst first) and replaces the ``fresh`` worst (CAX: 1) with fresh
states (``fresh = batch_size``: every sample from a fresh state, as validation runs), runs
``rollout_steps`` steps and, per sample, takes the state after ``n`` steps, ``n`` uniform
in ``rollout_steps // 2 + 1 .. rollout_steps``; the loss is the mean squared error between
the last channel of every depth slice of that state and the digit. Those states go back
into the pool. Training uses the first 55,000 MNIST training digits; the last 5,000 are
held out, and ``val_mse`` (and the zoo classifier's accuracy on the reconstructions) is
measured on the first ``val_limit`` of them at the end. The test set is left to
``cax-zoo eval self_autoencoding_mnist``.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import cax_zoo
from cax_zoo import ConfigError, SelfAutoencodingMNIST
from cax_zoo.mnist import load_mnist
from cax_zoo.self_autoencoding_mnist import reconstruct, resize_digits, upsample
from cax_zoo.training import (
    check_int, config_differences,
    RecipeRun, begin, drive, finish, initial_model, key_data, make_optimizer, model_card, order_by_loss,
    parse_recipe_args, pool_sample, pool_update, replace_first, run_main,
)

NAME = "self_autoencoding_mnist"
PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "self-autoencoding MNIST")
NUM_VALIDATION = 5000  # the last 5,000 training digits: never trained on

FULL: dict[str, Any] = {  # CAX's notebook 45 (examples/45_self_autoencoding_mnist.ipynb)
    "seed": 0,
    "steps": 16384,
    "batch_size": 8,
    "pool_size": 1024,
    "fresh": 1,  # batch entries replaced by fresh states each iteration (CAX: 1)
    "rollout_steps": 96,
    "lr": 1e-3,
    "lr_schedule": "linear",
    "lr_boundaries": [2000],
    "lr_decay": 0.5,  # linear from lr to lr * 0.5 over the first 2,000 steps, then constant
    "clip_norm": 1.0,
    "image_size": 28,
    "depth": 42,
    "num_channels": 16,
    "hidden_units": 256,
    "fire_rate": 0.5,
    "alive_mask": True,
    "hole": 1,  # side of the wall's square opening (CAX: 1, the centre cell)
    "remat": False,  # recompute each step in the backward pass (less memory, ~1.3x time)
    "val_limit": 1000,
    "val_classifier": True,  # also score the reconstructions with the released mnist_self_classify
    "checkpoint_every": 256,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "batch_size": 2, "pool_size": 6, "rollout_steps": 4, "image_size": 6, "depth": 4,
    "num_channels": 4, "hidden_units": 8, "val_limit": 4, "checkpoint_every": 2,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by
    :class:`~cax_zoo.SelfAutoencodingMNIST`)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_steps", "checkpoint_every", "val_limit", "hole"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("alive_mask", "remat", "val_classifier"):
        if not isinstance(cfg[name], bool):
            raise ConfigError(f"{name} must be true or false, got {cfg[name]!r}")
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
    v = cfg["clip_norm"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1e6:
        raise ConfigError(f"clip_norm must be a number in [0, 1e6] (0: no clipping), got {v!r}")
    if not isinstance(cfg["lr_boundaries"], list) or len(cfg["lr_boundaries"]) > 1:
        raise ConfigError(f"lr_boundaries must be a list of at most one step (the end of the linear decay), "
                          f"got {cfg['lr_boundaries']!r}")
    return cfg


def create_model(cfg: dict[str, Any]) -> SelfAutoencodingMNIST:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return SelfAutoencodingMNIST(image_size=cfg["image_size"], depth=cfg["depth"], num_channels=cfg["num_channels"],
                                 hidden_units=cfg["hidden_units"], fire_rate=cfg["fire_rate"],
                                 alive_mask=cfg["alive_mask"], steps=cfg["rollout_steps"], hole=cfg["hole"],
                                 key=jax.random.PRNGKey(cfg["seed"]))


def fresh_states(model: SelfAutoencodingMNIST, digits):
    """Zero states ``(B, S, S, D, C)`` with ``digits`` ``(B, S, S)`` on the face ``z = 0``."""
    state = jnp.zeros(digits.shape + (model.depth, model.num_channels), jnp.float32)
    return state.at[..., 0, -1].set(digits)


def per_sample_loss(states, digits):
    """CAX's loss per sample: the MSE between the last channel of every depth slice and
    the digit, ``(B,)``."""
    return jnp.mean((states[..., -1] - digits[..., None]) ** 2, axis=(-3, -2, -1))


def make_train_step(optimizer, cfg: dict[str, Any], train_digits):
    """The jitted training iteration (see the module docstring); ``train_digits``
    ``(N, S, S)`` are the training digits at the model's resolution."""
    b, t, remat, fresh = cfg["batch_size"], cfg["rollout_steps"], cfg["remat"], cfg["fresh"]

    @eqx.filter_jit
    def train_step(model, opt_state, pool, key):
        k_pool, k_new, k_when, k_roll = jax.random.split(key, 4)
        idx, batch = pool_sample(pool, k_pool, b)
        batch = order_by_loss(batch, per_sample_loss(batch["state"], train_digits[batch["digit"]]))
        new = jax.random.randint(k_new, (fresh,), 0, train_digits.shape[0])
        batch = replace_first(batch, {"state": fresh_states(model, train_digits[new]), "digit": new}, fresh)
        digit_idx, states = batch["digit"], batch["state"]
        digits = train_digits[digit_idx]
        when = jax.random.randint(k_when, (b,), t // 2 + 1, t + 1)  # CAX: intermediate index in [t/2, t)
        params, static = eqx.partition(model, eqx.is_array)

        def loss_fn(p):
            m = eqx.combine(p, static)

            def one_step(s, k):
                return jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b))

            if remat:
                one_step = jax.checkpoint(one_step)

            def body(carry, xs):
                s, picked = carry
                i, k = xs
                s = one_step(s, k)
                hit = (when == i + 1).reshape((b,) + (1,) * (s.ndim - 1))
                return (s, jnp.where(hit, s, picked)), None

            (_, picked), _ = jax.lax.scan(body, (states, states), (jnp.arange(t), jax.random.split(k_roll, t)))
            return jnp.mean(per_sample_loss(picked, digits)), picked

        (loss, picked), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        model = eqx.combine(eqx.apply_updates(params, updates), static)
        pool = pool_update(pool, idx, {"state": jax.lax.stop_gradient(picked), "digit": digit_idx})
        return model, opt_state, pool, loss

    return train_step


def validate(model: SelfAutoencodingMNIST, val_grey: np.ndarray, val_labels: np.ndarray, *, seed: int,
             classifier: bool) -> dict[str, Any]:
    """``val_mse`` (mean per-digit far-face MSE after ``model.steps`` steps, at the model's
    resolution) on held-out training digits ``val_grey`` ``(N, 28, 28)`` in [0, 1], in
    batches of 250 (keys from ``seed``); with ``classifier``, ``val_classifier_accuracy``:
    the released mnist_self_classify on the reconstructions upsampled to 28x28."""
    clf = cax_zoo.load("mnist_self_classify") if classifier else None
    root = jax.random.fold_in(jax.random.PRNGKey(seed), 2**31 - 2)
    sq, right, n = 0.0, 0, len(val_grey)
    for i, start in enumerate(range(0, n, 250)):
        digits = resize_digits(val_grey[start : start + 250], model.image_size)
        rec = reconstruct(model, digits, jax.random.fold_in(root, i), model.steps)
        sq += float(jnp.sum(jnp.mean((rec - digits) ** 2, axis=(-2, -1))))
        if clf is not None:
            pred = clf.classify(upsample(rec), key=jax.random.fold_in(root, 10_000 + i))
            right += int((pred == val_labels[start : start + 250]).sum())
    out = {"val_mse": sq / n, "val_num_images": n}
    if clf is not None:
        out["val_classifier_accuracy"] = right / n
    return out


def _hole_note(cfg: dict[str, Any]) -> str:
    """What a wider hole than CAX's single cell means, for the card (empty for CAX's)."""
    k, s = cfg["hole"], cfg["image_size"]
    if k == 1:
        return ""
    return (f"**The wall is not CAX's.** Its opening is the central {k}x{k} cells ({k * k} of the wall's {s * s}, "
            f"{100 * k * k / (s * s):.1f} %), where CAX's is the single centre cell. Everything still passes "
            f"through the opening, but {k * k} cells carry {k * k} times the channels per step that one cell "
            "does: an easier task than the paper's, chosen so that a CPU-sized run learns it.\n\n")


def _differences(cfg: dict[str, Any]) -> str:
    scale = config_differences(cfg, FULL, ignore=("val_limit", "val_classifier", "checkpoint_every", "remat"))
    return (f"Scale: a {cfg['image_size']}x{cfg['image_size']}x{cfg['depth']} grid, {cfg['num_channels']} channels, "
            f"hidden layer {cfg['hidden_units']}, {cfg['rollout_steps']} steps, batch {cfg['batch_size']}, pool "
            f"{cfg['pool_size']}, {cfg['steps']} iterations. {scale} (The paper's appendix uses 16x16x32 and 32 "
            "channels.) Digits are resized from 28x28 to the grid side (bilinear, antialiased) when smaller.\n\n"
            + _hole_note(cfg) +
            "Always different from CAX's notebook: the perception kernels (identity + 3 Sobel gradients per "
            "channel) are fixed, where CAX initialises a learned depthwise convolution with them; a firing cell "
            "adds the MLP output as is (CAX's dropout doubles it: the same model up to a factor 2 on the last "
            "layer); the loss step is drawn afresh per sample and iteration (CAX's notebook draws it from a key "
            "fixed when the step is compiled); training digits are the first 55,000 of MNIST's training set.")


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    images, labels = load_mnist("train", data=run.options.data)
    grey = images.astype(np.float32) / 255.0
    train_grey, val_grey = grey[:-NUM_VALIDATION], grey[-NUM_VALIDATION:][: cfg["val_limit"]]
    val_labels = labels[-NUM_VALIDATION:][: cfg["val_limit"]].astype(np.int64)
    model = initial_model(run, lambda: create_model(cfg))
    if (model.image_size, model.depth, model.hole) != (cfg["image_size"], cfg["depth"], cfg["hole"]):
        raise ConfigError(f"--pretrained model works on a {model.image_size}x{model.image_size}x{model.depth} grid "
                          f"with a {model.hole}x{model.hole} hole; set --config image_size={model.image_size} "
                          f"--config depth={model.depth} --config hole={model.hole}")
    train_digits = resize_digits(train_grey, model.image_size)
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=False, clip_norm=cfg["clip_norm"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    base_key = jax.random.PRNGKey(cfg["seed"])
    first = jax.random.randint(jax.random.fold_in(base_key, 2**31 - 1), (cfg["pool_size"],), 0,
                               train_digits.shape[0])
    pool = {"state": fresh_states(model, train_digits[first]), "digit": first.astype(jnp.int32)}
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
    metrics = validate(model, val_grey, val_labels, seed=cfg["seed"], classifier=cfg["val_classifier"])
    metrics = {**metrics, "steps": model.steps, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    s = model.image_size
    card = model_card(
        f"{NAME}{' (smoke test)' if run.smoke else ''}",
        summary=f"A self-autoencoding MNIST neural CA: a digit written on the face z=0 of a {s}x{s}x{model.depth} "
                f"grid must appear on the face z={model.depth - 1} after {model.steps} steps, through a wall in "
                + ("the middle slice with one open cell." if model.hole == 1 else
                   f"the middle slice open only in its central {model.hole}x{model.hole} cells."),
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes=_differences(cfg) + "\n\nMetrics (at the end of training, on the last 5,000 MNIST training digits, "
              f"never trained on; the first {len(val_grey)} of them): `val_mse` is the mean over digits of the "
              f"MSE between the far face's last channel after {model.steps} steps from a fresh state and the digit, "
              f"at {s}x{s}; `val_classifier_accuracy` the accuracy of the zoo's `mnist_self_classify` on those "
              "reconstructions upsampled to 28x28 (bilinear, clipped to [0, 1]); `final_train_loss` the mean "
              "training loss (CAX's, over every depth slice) of the last 50 iterations. The MNIST test set is "
              "scored by `cax-zoo eval self_autoencoding_mnist` (`mse`, `classifier_accuracy`).",
        usage="import jax, cax_zoo\nmodel = cax_zoo.load('self_autoencoding_mnist')\n"
              "state = model.initial_state(digits)  # (B, 28, 28) uint8 MNIST digits\n"
              "final = model.rollout(state, model.steps, key=jax.random.PRNGKey(0))\n"
              "digits_out = model.reconstruction(final)  # (B, S, S): the far face",
    )
    every = max(1, round(model.steps / 20))  # about 20 frames: the preview stays under its size cap
    run_args = ["--steps", str(model.steps), "--every", str(every), "--seed", "0"]
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history, run_args=run_args)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE, data="mnist"))


if __name__ == "__main__":
    raise SystemExit(main())
