"""Recipe: train the self-classifying MNIST neural CA (Randazzo et al. 2020).

    cax-zoo train mnist_self_classify --out runs/mnist            # full config
    python -m recipes.mnist_self_classify --smoke --out /tmp/smoke  # seconds (CI)

Each iteration draws a batch from a pool of CA states; a fraction of it is reseeded with
fresh training digits (state zero) and a fraction is *mutated* (a new digit under the old
hidden state, as in the paper, so the cells learn to change their minds). The batch is
rolled out ``rollout_steps`` steps; the loss is the L2 distance of the live cells' logits
to the one-hot label, averaged over the cells and over every step of the rollout.
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
    RecipeRun, begin, constrain_leading, constrain_replicated, data_mesh, drive, finish, initial_model, key_data,
    make_optimizer, model_card, parse_recipe_args, pool_sample, pool_update, replicate, run_main,
)

SIDE = 28
NAME = "mnist_self_classify"
# cax-zoo run arguments of the release's preview.gif (a drawn digit; the colours are the votes)
PREVIEW = ["--steps", "80", "--every", "2", "--seed", "3"]
PREVIEW_SMOKE = ["--steps", "4", "--seed", "3"]
PAPER = "Randazzo, Mordvintsev, Niklasson, Levin & Wang 2020, Distill, 'Self-classifying MNIST Digits'"

FULL: dict[str, Any] = {
    "seed": 0,
    "steps": 20000,
    "batch_size": 16,
    "pool_size": 1024,
    "rollout_steps": 20,
    "reseed": 4,  # fresh digits (zero state) per batch
    "mutate": 4,  # new digit under the old hidden state per batch
    "lr": 1e-3,
    "lr_schedule": "cosine",
    "lr_decay": 0.05,
    "lr_boundaries": [],
    "normalize_gradients": True,
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
    return cfg


def create_model(cfg: dict[str, Any]) -> SelfClassifyingMNIST:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return SelfClassifyingMNIST(
        hidden_channels=cfg["hidden_channels"], hidden_units=cfg["hidden_units"],
        perception=cfg["perception"], mlp_depth=cfg["mlp_depth"], fire_rate=cfg["fire_rate"],
        alive_threshold=cfg["alive_threshold"], default_steps=cfg["default_steps"],
        key=jax.random.PRNGKey(cfg["seed"]),
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


def per_sample_loss(model, states, labels):
    """Mean over live cells of the squared error of the logits to the one-hot label."""
    alive = (states[..., 0] > model.alive_threshold).astype(jnp.float32)
    target = jax.nn.one_hot(labels, NUM_CLASSES)[:, None, None, :]
    err = jnp.sum((states[..., -NUM_CLASSES:] - target) ** 2, axis=-1)
    return jnp.sum(err * alive, axis=(1, 2)) / jnp.maximum(jnp.sum(alive, axis=(1, 2)), 1.0)


def make_train_step(optimizer, cfg: dict[str, Any], mesh=None):
    """The jitted training iteration. With a ``mesh`` (data parallel) the batch is split
    over its devices for the rollout; the model, optimiser state and data stay replicated."""
    b, t = cfg["batch_size"], cfg["rollout_steps"]
    n_reseed, n_mutate = cfg["reseed"], cfg["mutate"]
    max_live = cfg.get("max_live", 0)

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
            target = jax.nn.one_hot(labs, NUM_CLASSES)[:, None, :]
            count = jnp.maximum(valid.sum(-1), 1)

            def loss_fn(m):
                def body(h, k):
                    h = jax.vmap(lambda *a: sparse_step(m, *a))(h, nbr, ng, valid, jax.random.split(k, b))
                    err = jnp.sum((h[..., -NUM_CLASSES:] - target) ** 2, -1) * valid
                    return h, err.sum(-1) / count

                hidden, losses = jax.lax.scan(body, hidden0, jax.random.split(k_roll, t))
                rest = jax.vmap(lambda i, h: jnp.zeros((SIDE * SIDE + 1, c1)).at[i].set(h)[:-1])(cell_idx, hidden)
                final = jnp.concatenate([states[..., :1], rest.reshape(b, SIDE, SIDE, c1)], axis=-1)
                return jnp.mean(losses), final
        else:
            def loss_fn(m):
                def body(s, k):
                    s = jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b))
                    return s, per_sample_loss(m, s, labs)

                final, losses = jax.lax.scan(body, states, jax.random.split(k_roll, t))
                return jnp.mean(losses), final

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
    if cfg["max_live"]:
        keep = (images_np.astype(np.float32) / 255.0 > cfg["alive_threshold"]).sum((1, 2)) <= cfg["max_live"]
        images_np, labels_np = images_np[keep], labels_np[keep]
        print(f"training on {len(images_np)} digits with <= {cfg['max_live']} live cells")
    model = initial_model(run, lambda: create_model(cfg))
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
    print(f"evaluating on {cfg['eval_limit']} test digits ...")
    metrics = evaluate(model, data=run.options.data, limit=cfg["eval_limit"], progress=run.progress)
    metrics = {**metrics, "final_train_loss": trained.history[-1][1] if trained.history else None,
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print({k: metrics[k] for k in ("accuracy", "pixel_accuracy", "accuracy_by_step")})
    card = model_card(
        f"mnist_self_classify{' (smoke test)' if run.smoke else ''}",
        summary="A self-classifying MNIST neural CA: every live pixel of a digit votes for a class; "
                "the label is the majority vote. Load with `cax_zoo.load('mnist_self_classify')`.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
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
