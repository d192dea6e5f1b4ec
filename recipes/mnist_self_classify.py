"""Recipe: train the self-classifying MNIST neural CA (Randazzo et al. 2020).

    cax-zoo train mnist_self_classify --out runs/mnist            # full config
    python -m recipes.mnist_self_classify --smoke --out /tmp/smoke  # seconds (CI)

Each iteration draws a batch from a pool of CA states; a fraction of it is reseeded with
fresh training digits (state zero) and a fraction is *mutated* (a new digit under the old
hidden state, as in the paper, so the cells learn to change their minds). The batch is
rolled out ``rollout_steps`` steps. ``loss`` is ``"l2"`` (the squared distance of a live
cell's logits to the one-hot label) or ``"ce"`` (softmax cross-entropy of a live cell's
logits against the label), averaged over the live cells of a digit, then over the batch;
``loss_at`` takes it on the final state only (``"last"``, the article's notebook) or
averaged over every step of the rollout (``"every"``). ``residual_noise`` is the model's
N(0, sigma) noise on every cell's update (0.02 in the notebook's L2 model, on at
evaluation too).

FULL is the configuration of the article's notebook (google-research/self-organising-systems,
notebooks/mnist_ca.ipynb, its final '3 mutating' L2 model with noise): batch 16, a pool
of 160, 20 steps per iteration, 4 digits reseeded and 4 mutated, the L2 loss on the final
state, residual noise 0.02, Adam at 1e-3 times 0.1 from step 30,000 and 0.01 from 70,000,
100,000 iterations, per-parameter normalised gradients. Two differences remain: the
notebook sums the squared error over a digit's cells (and halves it) where this recipe
averages it over the live cells (with normalised gradients the overall scale does not
matter, but a large digit weighs more there), and this recipe runs the rule on live-cell
lists of ``max_live`` cells, skipping the 0.3% of digits with more. Its cross-entropy
model is ``--config loss=ce --config residual_noise=0``.

Model selection: the last ``val_size`` training digits (MNIST's training set order) are
held out: never in the pool, never reseeded or mutated in. At the end they are scored by
``evaluate(..., split="train", start=60000 - val_size)`` into ``val_accuracy``,
``val_pixel_accuracy`` and ``val_agreement`` (and ``val_*_by_step`` at the default step
and 200): settings are chosen on these, and the test set (``eval_limit`` digits) is
reported once, as before.

History: releases before this recipe took the notebook's configuration (the shipped
``weights/mnist_self_classify`` among them) trained with ``loss_at=every``, ``loss=l2``,
``residual_noise=0``, ``pool_size=1024``, ``lr_schedule=cosine`` (``lr_decay=0.05``,
``steps=20000`` a stage) and no held-out digits (``val_size=0``); their card's commands
predate these fields, so to repeat them pass those values with ``--config``.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from cax_zoo import ConfigError, SelfClassifyingMNIST
from cax_zoo.mnist import NUM_CLASSES, evaluate, live_cells, load_mnist, sparse_step
from cax_zoo.training import (
    RecipeRun, begin, check_choice, check_float, constrain_leading, constrain_replicated, data_mesh, drive, finish,
    initial_model, key_data, make_optimizer, model_card, parse_recipe_args, pool_sample, pool_update, replicate,
    run_main,
)

SIDE = 28
NAME = "mnist_self_classify"
# cax-zoo run arguments of the release's preview.gif (a drawn digit; the colours are the votes)
PREVIEW = ["--steps", "80", "--every", "2", "--seed", "3"]
PREVIEW_SMOKE = ["--steps", "4", "--seed", "3"]
PAPER = "Randazzo, Mordvintsev, Niklasson, Levin & Wang 2020, Distill, 'Self-classifying MNIST Digits'"

# --init pretrained with a larger hidden_units grows the model (new perception filters and
# hidden units start unread: the same votes) and fine-tunes it (cax_zoo.training.widen)
WIDEN_FIELDS = ("hidden_units",)
LOSSES = ("l2", "ce")
LOSS_AT = ("every", "last")
MNIST_TRAIN = 60000  # digits in MNIST's training split

FULL: dict[str, Any] = {  # the article's notebook (see the module docstring)
    "seed": 0,
    "steps": 100000,
    "batch_size": 16,
    "pool_size": 160,
    "rollout_steps": 20,
    "reseed": 4,  # fresh digits (zero state) per batch
    "mutate": 4,  # new digit under the old hidden state per batch
    "lr": 1e-3,
    "lr_schedule": "piecewise",
    "lr_decay": 0.1,  # times 0.1 at each boundary: 1e-3, 1e-4 from 30,000, 1e-5 from 70,000
    "lr_boundaries": [30000, 70000],
    "normalize_gradients": True,
    "loss": "l2",  # "l2" or "ce"
    "loss_at": "last",  # "last" (final state) or "every" (mean over the rollout's steps)
    "residual_noise": 0.02,  # std of the model's noise on every cell's update
    "val_size": 5000,  # the last training digits, held out for choosing settings
    "hidden_channels": 9,
    "hidden_units": 80,
    "perception": "learned",
    "mlp_depth": 1,
    "fire_rate": 0.5,
    "alive_threshold": 0.1,
    "default_steps": 100,
    "max_live": 256,  # >0: train on live-cell lists of this length (digits with more live cells are skipped)
    "checkpoint_every": 250,
    "eval_limit": 10000,
    "devices": 1,  # data parallel over this many devices (0: all); batch_size and pool_size divisible by it
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 6, "batch_size": 2, "pool_size": 8, "rollout_steps": 3, "reseed": 1,
    "mutate": 1, "hidden_units": 8, "max_live": 224, "checkpoint_every": 2, "eval_limit": 16, "default_steps": 5,
    "val_size": 16,
}


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's own constraints (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by the model)."""
    for name in ("steps", "batch_size", "pool_size", "rollout_steps", "checkpoint_every", "eval_limit"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    for name in ("reseed", "mutate", "max_live"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{name} must be an integer >= 0, got {v!r}")
    if cfg["max_live"] > SIDE * SIDE:
        raise ConfigError(f"max_live must be at most {SIDE * SIDE} (a 28x28 digit), got {cfg['max_live']}")
    lr = cfg["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 10:
        raise ConfigError(f"lr must be a number in (0, 10], got {lr!r}")
    if cfg["reseed"] + cfg["mutate"] > cfg["batch_size"]:
        raise ConfigError(f"reseed + mutate ({cfg['reseed']} + {cfg['mutate']}) must not exceed "
                          f"batch_size ({cfg['batch_size']})")
    if cfg["batch_size"] > cfg["pool_size"]:
        raise ConfigError(f"batch_size ({cfg['batch_size']}) must not exceed pool_size ({cfg['pool_size']})")
    check_choice("loss", cfg["loss"], LOSSES)
    check_choice("loss_at", cfg["loss_at"], LOSS_AT)
    check_float("residual_noise", cfg["residual_noise"], minimum=0.0, maximum=1.0)
    v = cfg["val_size"]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MNIST_TRAIN // 2:
        raise ConfigError(f"val_size must be an integer in [0, {MNIST_TRAIN // 2}], got {v!r}")
    return cfg


SPLIT_NOTE = ("Settings are chosen on the validation split (the last `val_size` MNIST training digits, held "
              "out of training: `val_*` metrics); the test-set figures are reported once, at the end.")


def hold_out(images: np.ndarray, labels: np.ndarray, val_size: int):
    """``(train_images, train_labels, val_start)``: the training split without its last
    ``val_size`` digits, which are held out for validation (``val_start`` is the index of
    the first of them in the split)."""
    start = len(images) - val_size
    if start <= 0:
        raise ConfigError(f"val_size ({val_size}) leaves no training digits out of {len(images)}")
    return images[:start], labels[:start], start


def validation_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """:func:`~cax_zoo.mnist.evaluate`'s figures on the held-out digits, named ``val_*``."""
    keys = ("accuracy", "pixel_accuracy", "agreement", "accuracy_by_step", "pixel_accuracy_by_step",
            "agreement_by_step", "num_images")
    return {f"val_{k}": result[k] for k in keys}


def create_model(cfg: dict[str, Any]) -> SelfClassifyingMNIST:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return SelfClassifyingMNIST(
        hidden_channels=cfg["hidden_channels"], hidden_units=cfg["hidden_units"],
        perception=cfg["perception"], mlp_depth=cfg["mlp_depth"], fire_rate=cfg["fire_rate"],
        alive_threshold=cfg["alive_threshold"], default_steps=cfg["default_steps"],
        residual_noise=cfg["residual_noise"], key=jax.random.PRNGKey(cfg["seed"]),
    )


_create = create_model


def fresh_states(model, images, labels, idx):
    """``(states (n, 28, 28, C), labels (n,) int32)``: digits ``images[idx]`` (uint8) as
    fresh NCA states, the grey image in channel 0 and every other channel zero (what the
    pool starts from and what reseeding puts back)."""
    grey = images[idx].astype(jnp.float32) / 255.0
    state = jnp.zeros(grey.shape + (model.num_channels,), jnp.float32).at[..., 0].set(grey)
    return state, labels[idx].astype(jnp.int32)


_fresh = fresh_states  # the name the recipe's own code uses


def cell_loss(logits, labels, loss: str = "l2"):
    """Per-cell loss ``(B, *cells)`` of ``logits`` ``(B, *cells, 10)`` against ``labels``
    ``(B,)``: ``"l2"`` the squared distance to the one-hot label, ``"ce"`` the softmax
    cross-entropy."""
    onehot = jax.nn.one_hot(labels, NUM_CLASSES)
    onehot = onehot.reshape(onehot.shape[:1] + (1,) * (logits.ndim - 2) + onehot.shape[1:])
    if loss == "ce":
        return -jnp.sum(jax.nn.log_softmax(logits, axis=-1) * onehot, axis=-1)
    return jnp.sum((logits - onehot) ** 2, axis=-1)


def per_sample_loss(model, states, labels, loss: str = "l2"):
    """Per digit ``(B,)``: the mean over its live cells of :func:`cell_loss` (``"l2"``: the
    squared error of the logits to the one-hot label; ``"ce"``: cross-entropy)."""
    alive = (states[..., 0] > model.alive_threshold).astype(jnp.float32)
    err = cell_loss(states[..., -NUM_CLASSES:], labels, loss)
    return jnp.sum(err * alive, axis=(1, 2)) / jnp.maximum(jnp.sum(alive, axis=(1, 2)), 1.0)


def make_train_step(optimizer, cfg: dict[str, Any], mesh=None):
    """The jitted training iteration. With a ``mesh`` (data parallel) the batch is split
    over its devices for the rollout; the model, optimiser state and data stay replicated.
    The loss is ``cfg["loss"]`` taken at ``cfg["loss_at"]`` (the final state, or the mean
    over every step); ``images`` are the training digits only (never the held-out ones)."""
    b, t = cfg["batch_size"], cfg["rollout_steps"]
    n_reseed, n_mutate = cfg["reseed"], cfg["mutate"]
    max_live = cfg.get("max_live", 0)
    loss_kind = check_choice("loss", cfg["loss"], LOSSES)
    every = check_choice("loss_at", cfg["loss_at"], LOSS_AT) == "every"

    @eqx.filter_jit
    def train_step(model, opt_state, pool, images, labels, key):
        k_pool, k_new, k_mut, k_roll = jax.random.split(key, 4)
        idx, (states, labs) = pool_sample(pool, k_pool, b)
        if n_reseed:
            fs, fl = _fresh(model, images, labels, jax.random.randint(k_new, (n_reseed,), 0, images.shape[0]))
            states, labs = states.at[:n_reseed].set(fs), labs.at[:n_reseed].set(fl)
        if n_mutate:
            lo, hi = n_reseed, n_reseed + n_mutate
            fs, fl = _fresh(model, images, labels, jax.random.randint(k_mut, (n_mutate,), 0, images.shape[0]))
            alive = (fs[..., :1] > model.alive_threshold).astype(jnp.float32)
            mutated = jnp.concatenate([fs[..., :1], states[lo:hi, ..., 1:] * alive], axis=-1)
            states, labs = states.at[lo:hi].set(mutated), labs.at[lo:hi].set(fl)
        states, labs = constrain_leading((states, labs), mesh)

        if max_live:
            # live-cell lists: the same rule computed on the live cells only (several times
            # cheaper than the dense 28x28 grid)
            c1 = model.num_channels - 1
            grey = states[..., 0]
            cell_idx, nbr, ng, valid = jax.vmap(lambda g: live_cells(g, model.alive_threshold, max_live))(grey)
            flat = states.reshape(b, SIDE * SIDE, model.num_channels)
            safe = jnp.minimum(cell_idx, SIDE * SIDE - 1)
            hidden0 = jnp.take_along_axis(flat[..., 1:], safe[..., None], axis=1) * valid[..., None]
            count = jnp.maximum(valid.sum(-1), 1)

            def list_loss(h):  # (B,): mean over each digit's live cells
                return jnp.sum(cell_loss(h[..., -NUM_CLASSES:], labs, loss_kind) * valid, -1) / count

            def loss_fn(m):
                def body(h, k):
                    h = jax.vmap(lambda *a: sparse_step(m, *a))(h, nbr, ng, valid, jax.random.split(k, b))
                    return h, (list_loss(h) if every else None)

                hidden, losses = jax.lax.scan(body, hidden0, jax.random.split(k_roll, t))
                rest = jax.vmap(lambda i, h: jnp.zeros((SIDE * SIDE + 1, c1)).at[i].set(h)[:-1])(cell_idx, hidden)
                final = jnp.concatenate([states[..., :1], rest.reshape(b, SIDE, SIDE, c1)], axis=-1)
                return jnp.mean(losses if every else list_loss(hidden)), final
        else:
            def loss_fn(m):
                def body(s, k):
                    s = jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b))
                    return s, (per_sample_loss(m, s, labs, loss_kind) if every else None)

                final, losses = jax.lax.scan(body, states, jax.random.split(k_roll, t))
                return jnp.mean(losses if every else per_sample_loss(m, final, labs, loss_kind)), final

        (loss, final), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        model = eqx.apply_updates(model, updates)
        pool = constrain_leading(pool_update(pool, idx, (jax.lax.stop_gradient(final), labs)), mesh)
        model, opt_state = constrain_replicated((model, opt_state), mesh)
        return model, opt_state, pool, loss

    return train_step


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    mesh = data_mesh(cfg.get("devices", 1), divides={"batch_size": cfg["batch_size"], "pool_size": cfg["pool_size"]})
    images_np, labels_np = load_mnist("train", data=run.options.data)
    images_np, labels_np, val_start = hold_out(images_np, labels_np, cfg["val_size"])
    if cfg["val_size"]:
        print(f"holding out training digits {val_start}..{val_start + cfg['val_size'] - 1} for validation")
    if cfg["max_live"]:
        keep = (images_np.astype(np.float32) / 255.0 > cfg["alive_threshold"]).sum((1, 2)) <= cfg["max_live"]
        images_np, labels_np = images_np[keep], labels_np[keep]
        print(f"training on {len(images_np)} digits with <= {cfg['max_live']} live cells")
    model = initial_model(run, lambda: create_model(cfg), widen_fields=WIDEN_FIELDS)
    optimizer = make_optimizer(
        cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"], boundaries=cfg["lr_boundaries"],
        decay=cfg["lr_decay"], normalize_gradients=cfg["normalize_gradients"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    images, labels = jnp.asarray(images_np), jnp.asarray(labels_np.astype(np.int32))
    base_key = jax.random.PRNGKey(cfg["seed"])
    pool_idx = jax.random.randint(jax.random.fold_in(base_key, -1 % (2**31)), (cfg["pool_size"],), 0, len(images_np))
    pool = _fresh(model, images, labels, pool_idx)
    trees = {"model": model, "opt_state": opt_state, "pool": pool}
    if mesh is not None:  # data parallel: the model and the data set replicated, the pool sharded (by drive)
        images, labels = replicate((images, labels), mesh)
    step_fn = make_train_step(optimizer, cfg, mesh)

    def one(tr, step):
        m, o, p, loss = step_fn(tr["model"], tr["opt_state"], tr["pool"], images, labels,
                                jax.random.fold_in(base_key, step))
        return {"model": m, "opt_state": o, "pool": p}, loss

    trained = drive(run, trees, one, num_steps=cfg["steps"], checkpoint_every=cfg["checkpoint_every"],
                    desc=NAME, mesh=mesh, shard=("pool",), log_every=10 if not run.smoke else 1,
                    meta={"seed": cfg["seed"], "key_data": key_data(base_key)})
    if not trained.completed:
        return 0
    model = trained.model
    val = {}
    if cfg["val_size"]:
        print(f"evaluating on the {cfg['val_size']} held-out training digits (validation) ...")
        val = validation_metrics(evaluate(model, data=run.options.data, split="train", start=val_start,
                                          report_steps=(200,), progress=run.progress))
        print(val)
    print(f"evaluating on {cfg['eval_limit']} test digits ...")
    metrics = evaluate(model, data=run.options.data, limit=cfg["eval_limit"], progress=run.progress)
    metrics = {**metrics, **val, "final_train_loss": trained.history[-1][1] if trained.history else None,
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print({k: metrics[k] for k in ("accuracy", "pixel_accuracy", "accuracy_by_step")})
    card = model_card(
        f"mnist_self_classify{' (smoke test)' if run.smoke else ''}",
        summary="A self-classifying MNIST neural CA: every live pixel of a digit votes for a class; "
                "the label is the majority vote. Load with `cax_zoo.load('mnist_self_classify')`.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes=SPLIT_NOTE if cfg["val_size"] else "",
        usage="import cax_zoo\nmodel = cax_zoo.load('mnist_self_classify')\n"
              "labels = model.classify(images)  # (B, 28, 28) uint8 -> (B,) int",
    )
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history,
           run_args=PREVIEW_SMOKE if run.smoke else PREVIEW)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE, data="mnist"))


if __name__ == "__main__":
    raise SystemExit(main())
