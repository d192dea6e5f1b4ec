"""Throughput of cax_zoo next to its peers (CAX, CellPyLib), in one run, one table.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py --only life,eca # a subset
    python benchmarks/run.py --only train --match "grown states"   # rows whose workload contains a text
    python benchmarks/run.py --json out.json # also write the rows
    python benchmarks/run.py --only floors   # FLOPs the 1D-ARC and MNIST evaluations cannot avoid
    python benchmarks/run.py --only life --cpu-devices 2   # also Life sharded over 2 CPU devices

Needs the ``bench`` extra for the peers (``pip install -e .[bench]``: cax, cellpylib); a
missing peer shows as ``n/a``. Each number is cell-updates per second (state cells x
steps / wall time) from the best of ``--repeat`` timed runs after a warm-up run that
compiles; batched rows count every grid of the batch; the ``train`` rows count whole
training iterations (train steps per second). Never part of the unit tests.

The yardstick for the training rows is a 4096x4096 float32 matmul timed in the same run
(``matmul_gflops``); each training row records ``flops_per_step``, the FLOPs of one train
step, and the table prints the fraction of the matmul's FLOP/s that each side reaches.
XLA's cost analysis counts the body of a loop once, whatever its trip count, so
``flops_per_step`` is that count for the compiled train step plus ``T - 1`` times the cost
analysis of one rollout step's forward and backward pass over the batch (``T`` NCA steps).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from importlib import metadata
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

import cax_zoo
from cax_zoo import Elementary, Life, grid_mesh, sharded_rollout

GPU = False  # whether the backend is a GPU; main() sets it once the backend has started
TARGET_S = 0.4  # aim each timed run at about this long


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def timed(run: Callable[[int], object], updates_per_step: float, rate_guess: float, repeat: int) -> float:
    """Updates per second of ``run(num_steps)`` (which must block until done)."""
    steps = int(min(20000, max(1, TARGET_S * rate_guess / updates_per_step)))
    run(steps)  # compile and warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(steps)
        best = min(best, time.perf_counter() - t0)
    return updates_per_step * steps / best


def matmul_gflops(repeat: int, n: int = 4096) -> float:
    """GFLOP/s of an ``n x n`` float32 matmul (``2 n^3`` FLOPs), best of ``repeat`` timed
    runs after a compiling one: the machine's practical peak, the training rows' yardstick."""
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        matmul(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def xla_flops(jitted, *args) -> float:
    """FLOPs of one call of a jitted function (``jax.jit`` or ``eqx.filter_jit``) on
    ``args``, from XLA's cost analysis of the compiled program (a loop body counts once)."""
    compiled = jitted.lower(*args).compile()
    compiled = getattr(compiled, "compiled", compiled)  # equinox wraps jax's Compiled
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0]
    return float(analysis["flops"])


def step_grad_flops(model, step_loss, state, *rest) -> float:
    """FLOPs of one rollout step's forward and backward pass: the gradient of
    ``step_loss(model, state, *rest)`` with respect to the model's arrays and the state."""
    import equinox as eqx

    params, static = eqx.partition(model, eqx.is_array)
    grad = jax.jit(jax.grad(lambda p, s, *r: step_loss(eqx.combine(p, static), s, *r), argnums=(0, 1)))
    return xla_flops(grad, params, state, *rest)


def train_flops(train_step, args, model, step_loss, step_args, num_steps: int) -> float:
    """FLOPs of one train step whose rollout scans ``num_steps`` steps: XLA's count for
    the whole step (every loop body once) plus ``num_steps - 1`` more rollout steps."""
    whole = xla_flops(train_step, *args)
    return whole + (num_steps - 1) * step_grad_flops(model, step_loss, *step_args)


# ---------------------------------------------------------------- implementations
def ours_life(size: int, batch: int):
    model = Life("B3/S23")
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (batch, size, size, 1) if batch > 1 else (size, size, 1))
    state = state.astype(jnp.uint8)
    return lambda n: model.rollout(state, n).block_until_ready()


def ours_life_sharded(size: int):
    """One grid split into row slabs over every device (halo exchanges every few steps)."""
    model = Life("B3/S23")
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (size, size, 1)).astype(jnp.uint8)
    mesh = grid_mesh()
    return lambda n: sharded_rollout(model, state, n, mesh).block_until_ready()


def cax_life(size: int, batch: int):
    from cax.cs.life.cs import Life as CaxLife
    from flax import nnx

    birth, survival = CaxLife.birth_survival_from_string("B3/S23")
    model = CaxLife(birth=birth, survival=survival, rngs=nnx.Rngs(0))
    shape = (batch, size, size, 1) if batch > 1 else (size, size, 1)
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, shape).astype(jnp.float32)
    return lambda n: model(state, num_steps=n).block_until_ready()


def ours_eca(rule: int, width: int, batch: int):
    model = Elementary(rule)
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (batch, width, 1)).astype(jnp.uint8)
    return lambda n: model.rollout(state, n).block_until_ready()


def cax_eca(rule: int, width: int, batch: int):
    from cax.cs.elementary.cs import Elementary as CaxElementary
    from flax import nnx

    model = CaxElementary(wolfram_code=CaxElementary.wolfram_code_from_rule_number(rule), rngs=nnx.Rngs(0))
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (batch, width, 1)).astype(jnp.float32)
    return lambda n: model(state, num_steps=n).block_until_ready()


def cellpylib_eca(rule: int, width: int, batch: int):
    import cellpylib as cpl

    cells = np.random.default_rng(0).integers(0, 2, (1, width))
    apply = lambda n, c, t: cpl.nks_rule(n, rule)  # noqa: E731

    def run(n):
        for _ in range(batch):
            cpl.evolve(cells, timesteps=n + 1, apply_rule=apply, memoize=False)

    return run


def ours_lenia(size: int, batch: int):
    model = cax_zoo.create("lenia/orbium")
    one = model.init_state(size)
    state = jnp.stack([one] * batch) if batch > 1 else one
    return lambda n: jax.block_until_ready(model.rollout(state, n))


def cax_lenia(size: int, batch: int):
    """CAX's Lenia with Orbium's rule (R=13, T=10, growth mean 0.15, std 0.015, one ring);
    CAX's default Gaussian kernel core instead of Orbium's bump, which costs the same.

    CAX's Lenia steps one unbatched grid ``(*spatial, C)``: its FFT runs over the leading
    axes, so a batch passed as is would be transformed over (batch, rows) and the grids
    mixed. The batch is therefore mapped with ``nnx.vmap`` (as CAX's notebooks map their
    modules), which gives each grid exactly what CAX computes for it alone."""
    from cax.cs.lenia.cs import Lenia as CaxLenia
    from cax.cs.lenia.growth import GrowthParams
    from cax.cs.lenia.kernel import KernelParams
    from cax.cs.lenia.rule import LeniaRuleParams
    from flax import nnx

    rule = LeniaRuleParams(
        channel_source=jnp.array([0]), channel_target=jnp.array([0]), weight=jnp.array([1.0]),
        kernel_params=KernelParams(r=jnp.array([1.0]), b=jnp.array([[1.0]])),
        growth_params=GrowthParams(mean=jnp.array([0.15]), std=jnp.array([0.015])))
    model = CaxLenia((size, size), 1, R=13, T=10, rule_params=rule)
    state = jax.random.uniform(jax.random.PRNGKey(0), (batch, size, size, 1))
    runs = {}

    def run(n):
        if n not in runs:
            runs[n] = nnx.jit(nnx.vmap(lambda cs, s: cs(s, num_steps=n), in_axes=(None, 0)))
        return runs[n](model, state).block_until_ready()

    return run


GROWN_RADIUS = 15
"""The grown rows' pool: every state a disc of this radius, alive (14 % of the 72x72 cells,
as the Distill lizard's pool measured at training step 1,200)."""


def ours_nca_train(nca_steps: int, active_cells: float = 0.0, grown: bool = False):
    """One training iteration of the growing-NCA recipe (recipes/growing_nca.py) at the
    paper's batch size 8, 72x72x16 grids, with every rollout ``nca_steps`` long. The pool
    holds seeds, or with ``grown`` discs of :data:`GROWN_RADIUS` (a grown image's live
    area: what :func:`cax_zoo.nca.active_cell_steps` skips depends on it); ``active_cells``
    is the recipe's field (0: the MLP on every cell). The FLOP count is the dense step's."""
    import optax  # noqa: F401  (the recipe's optimizer)

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from recipes import growing_nca as recipe

    from cax_zoo.training import make_optimizer

    cfg = {**recipe.FULL, "rollout_min": nca_steps, "rollout_max": nca_steps, "active_cells": active_cells}
    model = recipe.create_model(cfg)
    optimizer = make_optimizer(cfg["lr"], normalize_gradients=True)
    opt_state = optimizer.init(eqx_filter(model))
    train_step = recipe.make_train_step(optimizer, cfg)
    seed = model.init_state()
    start = seed
    if grown:
        yy, xx = np.mgrid[:model.size, :model.size] - model.size // 2
        start = jnp.where(jnp.asarray(yy**2 + xx**2 <= GROWN_RADIUS**2)[..., None], 0.5, 0.0) * jnp.ones_like(seed)
    pool = jnp.stack([start] * cfg["pool_size"])
    target = jax.random.uniform(jax.random.PRNGKey(1), seed.shape[:2] + (4,))
    state = {"model": model, "opt": opt_state, "pool": pool}

    def run(n):
        for i in range(n):
            state["model"], state["opt"], state["pool"], loss = train_step(
                state["model"], state["opt"], state["pool"], seed, target, jax.random.PRNGKey(i))
        jax.block_until_ready((loss, state))

    b = cfg["batch_size"]

    def step_loss(m, s, k):
        return jnp.sum(jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b)))

    run.flops_per_step = lambda: train_flops(
        train_step, (model, opt_state, pool, seed, target, jax.random.PRNGKey(0)), model, step_loss,
        (pool[:b], jax.random.PRNGKey(0)), nca_steps)
    return run


def eqx_filter(model):
    import equinox as eqx

    return eqx.filter(model, eqx.is_array)


def cax_nca_train(nca_steps: int, unroll: bool = False):
    """The same workload with CAX's ConvPerceive + NCAUpdate (identity + Sobel perception,
    128 hidden units, cell dropout 0.5, alive masking) and optax Adam, as CAX's growing-NCA
    example builds it; the rollout is CAX's own ``cs(state, num_steps=...)`` (nnx.scan),
    and loss, gradient and Adam update are one nnx.jit that traces and compiles once
    (checked with JAX_LOG_COMPILES=1). It skips the pool, sorting and damage that ours
    times as well. ``unroll=True``: a Python loop over ``_step`` instead (not CAX's API)."""
    import optax
    from cax.core import ComplexSystem
    from cax.core.perceive import ConvPerceive
    from cax.core.perceive.kernels import grad_kernel, identity_kernel
    from cax.core.update import NCAUpdate
    from flax import nnx

    class NCA(ComplexSystem):
        def __init__(self, rngs):
            self.perceive = ConvPerceive(channel_size=16, perception_size=48, feature_group_count=16, rngs=rngs)
            k = jnp.concatenate([identity_kernel(2), grad_kernel(2)], axis=-1)
            self.perceive.conv.kernel = nnx.Param(jnp.tile(k[..., None, :], (1, 1, 1, 16)))
            self.update = NCAUpdate(channel_size=16, perception_size=48, hidden_layer_sizes=(128,),
                                    cell_dropout_rate=0.5, zeros_init=True, rngs=rngs)

        def _step(self, state, input=None, *, sow=False):
            return self.update(state, self.perceive(state), input)

    cs = NCA(nnx.Rngs(0))
    params = nnx.All(nnx.Param, nnx.PathContains("update"))
    opt = nnx.Optimizer(cs, optax.adam(2e-3), wrt=params)
    target = jax.random.uniform(jax.random.PRNGKey(1), (72, 72, 4))
    state = jnp.zeros((8, 72, 72, 16)).at[:, 36, 36, 3:].set(1.0)

    @nnx.jit
    def train_step(cs, opt, state):
        def loss_fn(cs):
            if unroll:
                s = state
                for _ in range(nca_steps):
                    s = cs._step(s)
                return jnp.mean((s[..., :4] - target) ** 2)
            return jnp.mean((cs(state, num_steps=nca_steps)[..., :4] - target) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, params))(cs)
        opt.update(cs, grads)
        return loss

    def run(n):
        for _ in range(n):
            loss = train_step(cs, opt, state)
        jax.block_until_ready((loss, nnx.state(cs), nnx.state(opt)))

    return run


def _mnist(max_live: int, threshold: float = 0.1):
    """MNIST training digits (from CAX_ZOO_DATA or the cache), filtered like the recipe
    when it trains on live-cell lists (digits with at most ``max_live`` live cells)."""
    from cax_zoo.mnist import load_mnist

    images, labels = load_mnist("train")
    if max_live:
        keep = (images.astype(np.float32) / 255.0 > threshold).sum((1, 2)) <= max_live
        images, labels = images[keep], labels[keep]
    return jnp.asarray(images), jnp.asarray(labels.astype(np.int32))


# The MNIST rows' workload, fixed so that rows stay comparable across recipe changes (the
# recipe's FULL config became the article notebook's: pool 160, loss on the final state,
# residual noise 0.02): loss on the live cells at every step, no noise, as CAX's side.
MNIST_ROW = {"pool_size": 1024, "loss": "l2", "loss_at": "every", "residual_noise": 0.0}


def ours_mnist_train(max_live: int, **overrides):
    """One training iteration of the self-classifying-MNIST recipe
    (recipes/mnist_self_classify.py): its FULL config with :data:`MNIST_ROW` (batch 16, 20
    NCA steps, loss on the live cells at every step, 1,024-state pool with 4 fresh and 4
    mutated digits per batch) and ``overrides``; ``max_live`` > 0 runs the rollout on
    live-cell lists, 0 on the dense 28x28 grid."""
    import equinox as eqx

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from recipes import mnist_self_classify as recipe

    from cax_zoo.mnist import live_cells, sparse_step
    from cax_zoo.training import make_optimizer

    cfg = {**recipe.FULL, **MNIST_ROW, "max_live": max_live, **overrides}
    model = recipe.create_model(cfg)
    optimizer = make_optimizer(cfg["lr"], schedule=cfg["lr_schedule"], steps=cfg["steps"],
                               boundaries=cfg["lr_boundaries"], decay=cfg["lr_decay"],
                               normalize_gradients=cfg["normalize_gradients"])
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    images, labels = _mnist(max_live, cfg["alive_threshold"])
    pool = recipe.fresh_states(model, images, labels, jax.random.randint(jax.random.PRNGKey(2), (cfg["pool_size"],), 0, len(images)))
    train_step = recipe.make_train_step(optimizer, cfg)
    state = {"model": model, "opt": opt_state, "pool": pool}

    def run(n):
        for i in range(n):
            state["model"], state["opt"], state["pool"], loss = train_step(
                state["model"], state["opt"], state["pool"], images, labels, jax.random.PRNGKey(i))
        jax.block_until_ready((loss, state["pool"]))

    b, steps = cfg["batch_size"], cfg["rollout_steps"]
    states, labs = pool[0][:b], pool[1][:b]
    onehot = jax.nn.one_hot(labs, 10)
    if max_live:  # one step on live-cell lists, as the recipe's scan body runs it
        cell_idx, nbr, ng, valid = jax.vmap(lambda g: live_cells(g, model.alive_threshold, max_live))(states[..., 0])
        flat = states.reshape(b, -1, model.num_channels)
        safe = jnp.minimum(cell_idx, flat.shape[1] - 1)
        hidden = jnp.take_along_axis(flat[..., 1:], safe[..., None], axis=1) * valid[..., None]

        def step_loss(m, h, nbr, ng, valid, k):
            h = jax.vmap(lambda *a: sparse_step(m, *a))(h, nbr, ng, valid, jax.random.split(k, b))
            return jnp.sum((h[..., -10:] - onehot[:, None, :]) ** 2 * valid[..., None])

        step_args = (hidden, nbr, ng, valid, jax.random.PRNGKey(0))
    else:
        def step_loss(m, s, k):
            s = jax.vmap(lambda x, kk: m.step(x, key=kk))(s, jax.random.split(k, b))
            return jnp.mean(recipe.per_sample_loss(m, s, labs))

        step_args = (states, jax.random.PRNGKey(0))
    run.flops_per_step = lambda: train_flops(
        train_step, (model, opt_state, pool, images, labels, jax.random.PRNGKey(0)), model, step_loss,
        step_args, steps)
    return run


def cax_mnist_train(unroll: bool = False):
    """The same workload built from CAX's components the way CAX's self-classifying-MNIST
    example (examples/44_self_classifying_mnist.ipynb) builds it: 20 channels (10 logits,
    9 hidden, the grey image last and reset every step), ConvPerceive 3x3 to 80 features
    with bias and ReLU, NCAUpdate with 80 hidden units, zero-initialised last layer, cell
    dropout 0.5 and alive masking by the grey channel; the rollout is CAX's own nnx.scan
    over ``_step`` (as in ``ComplexSystem.__call__``) that also emits the per-step loss
    (L2 on live cells at every step, as ours), Adam, a 1,024-state pool with 4 fresh digits
    per batch, all in one nnx.jit. ``unroll=True`` replaces the nnx.scan by a Python loop
    over ``_step`` (not CAX's rollout API; XLA:CPU differentiates CAX's convolutions
    inside a scan loop several times slower than unrolled)."""
    import optax
    from cax.core import ComplexSystem
    from cax.core.perceive import ConvPerceive
    from cax.core.update import NCAUpdate
    from flax import nnx

    channels, batch, steps = 20, 16, 20

    class SelfClassifyingNCA(ComplexSystem):
        def __init__(self, rngs):
            self.perceive = ConvPerceive(channel_size=channels, perception_size=80, use_bias=True,
                                         activation_fn=nnx.relu, rngs=rngs)
            self.update = NCAUpdate(channel_size=channels, perception_size=80, hidden_layer_sizes=(80,),
                                    cell_dropout_rate=0.5, zeros_init=True, rngs=rngs)

        def _step(self, state, input=None, *, sow=False):
            x = state[..., -1:]
            return self.update(state, self.perceive(state), input).at[..., -1:].set(x)

    cs = SelfClassifyingNCA(nnx.Rngs(0))
    opt = nnx.Optimizer(cs, optax.adam(1e-3), wrt=nnx.Param)
    images, labels = _mnist(0)  # uint8, passed to the jitted step like ours (not a constant)

    def fresh(images, labels, idx):
        grey = images[idx].astype(jnp.float32)[..., None] / 255.0
        return jnp.zeros((len(idx), 28, 28, channels)).at[..., -1:].set(grey), labels[idx]

    pool = list(fresh(images, labels, jax.random.randint(jax.random.PRNGKey(2), (1024,), 0, len(images))))

    def step_loss(s, y):
        alive = (s[..., -1] > 0.1).astype(jnp.float32)
        err = jnp.sum((s[..., :10] - jax.nn.one_hot(y, 10)[:, None, None, :]) ** 2, axis=-1)
        return jnp.mean(jnp.sum(err * alive, axis=(1, 2)) / jnp.maximum(jnp.sum(alive, axis=(1, 2)), 1.0))

    @nnx.jit
    def train_step(cs, opt, pool_s, pool_y, images, labels, key):
        k_pool, k_new = jax.random.split(key)
        idx = jax.random.choice(k_pool, pool_s.shape[0], (batch,), replace=False)
        s, y = pool_s[idx], pool_y[idx]
        fs, fy = fresh(images, labels, jax.random.randint(k_new, (batch // 4,), 0, images.shape[0]))
        s, y = s.at[: batch // 4].set(fs), y.at[: batch // 4].set(fy)

        def loss_fn(cs):
            if unroll:
                losses = []
                for _ in range(steps):
                    s_ = cs._step(s if not losses else s_)
                    losses.append(step_loss(s_, y))
                return jnp.mean(jnp.stack(losses)), s_
            axes = nnx.StateAxes({...: nnx.Carry})
            final, losses = nnx.scan(lambda cs, s: (lambda n: (n, step_loss(n, y)))(cs._step(s)),
                                     in_axes=(axes, nnx.Carry), out_axes=(nnx.Carry, 0), length=steps)(cs, s)
            return jnp.mean(losses), final

        (loss, final), grads = nnx.value_and_grad(loss_fn, has_aux=True)(cs)
        opt.update(cs, grads)
        return loss, pool_s.at[idx].set(jax.lax.stop_gradient(final)), pool_y.at[idx].set(y)

    def run(n):
        for i in range(n):
            loss, pool[0], pool[1] = train_step(cs, opt, pool[0], pool[1], images, labels, jax.random.PRNGKey(i))
        jax.block_until_ready((loss, pool, nnx.state(cs), nnx.state(opt)))

    return run


# ---------------------------------------------------------------- FLOP floors of two evaluations
def step_flops(model, states, grad: bool) -> float:
    """FLOPs of one NCA step of ``model`` on each state of the batch ``states``
    ``(B, *spatial, C)``: forward, or with ``grad`` forward and backward to the parameters
    and the state (what each step of a differentiated rollout costs)."""
    keys = jax.random.split(jax.random.PRNGKey(0), states.shape[0])

    def step_loss(m, s, k):
        return jnp.sum(jax.vmap(lambda x, kk: m.step(x, key=kk))(s, k))

    if grad:
        return step_grad_flops(model, step_loss, states, keys)
    import equinox as eqx

    return xla_flops(eqx.filter_jit(step_loss), model, states, keys)


def arc1d_eval_floor(data=None) -> dict:
    """FLOPs that ``cax-zoo eval arc1d_nca`` (instances 21-29, the card's clean split, the
    model's defaults) cannot avoid without changing its predictions, per task: each of
    ``restarts`` fine-tunings runs ``ttt_steps`` Adam steps, each the forward and backward
    pass of ``steps`` NCA steps over the task's demonstration rows, then ``votes`` forward
    rollouts of each test input. One NCA step's cost per cell comes from XLA's cost analysis
    of a row of 36 cells (the cost is linear in the length) and counts each row's real cells
    only, not the padding of its length bucket; the loss, the optimiser and the readout are
    left out."""
    from cax_zoo.arc1d import initial_states, load_arc1d

    model = cax_zoo.load("arc1d_nca")
    tasks = load_arc1d(data, indices=range(21, 30))
    votes, length = 16, 36  # candidates()'s default votes; the common length bucket
    states = initial_states(jnp.zeros((1, length), jnp.int32), jnp.ones((1, length), bool), model.hidden)
    per_cell = {grad: step_flops(model, states, grad) / length for grad in (False, True)}
    total = 0.0
    for t in tasks:
        train = model.ttt_steps * sum(len(x) for x, _ in t.train) * model.default_steps * per_cell[True]
        test = votes * sum(len(x) for x, _ in t.test) * model.default_steps * per_cell[False]
        total += model.ttt_restarts * (train + test)
    return {"evaluation": f"cax-zoo eval arc1d_nca, per task ({len(tasks)} tasks of instances 21-29)",
            "flops": total / len(tasks), "target_s": 0.5,
            "note": f"{model.ttt_restarts} restarts x {model.ttt_steps} Adam steps x {model.default_steps} NCA steps "
                    f"(forward and backward) over the demonstrations' cells, plus {votes} votes per test input; "
                    f"{per_cell[True]:,.0f} FLOPs per cell-step with its gradient"}


def mnist_eval_floor(data=None, steps: int = 200) -> dict:
    """FLOPs that ``cax-zoo eval mnist_self_classify`` (10,000 test digits to step
    ``steps``) cannot avoid without changing its votes: one NCA step's cost on a 28x28 grid
    (XLA's cost analysis) scaled to the cells that fire on a step, the live cells (grey above
    the alive threshold) times the fire rate."""
    from cax_zoo.mnist import load_mnist

    model = cax_zoo.load("mnist_self_classify")
    images, _ = load_mnist("test", data=data)
    live = float(np.mean(np.sum(images / 255.0 > model.alive_threshold, axis=(1, 2))))
    grid = model.init_state(batch_size=1)
    dense = step_flops(model, grid, grad=False)
    cells = grid.shape[1] * grid.shape[2]
    total = len(images) * steps * dense * (live / cells) * model.fire_rate
    return {"evaluation": f"cax-zoo eval mnist_self_classify, {len(images):,} digits to step {steps}",
            "flops": total, "target_s": 30.0,
            "note": f"{live:.1f} live cells of {cells} per digit, fire rate {model.fire_rate}; "
                    f"{dense / cells:,.0f} FLOPs per cell-step"}


def print_floors(peak_gflops: float, data=None) -> list[dict]:
    """The FLOP floors of the two evaluations against their targets, at the matmul's rate."""
    print("\n| evaluation | FLOPs it needs | floor at the matmul's FLOP/s | target | target / floor | note |")
    print("|---|---|---|---|---|---|")
    rows = []
    for floor in (arc1d_eval_floor, mnist_eval_floor):
        row = floor(data)
        row["floor_s"] = row["flops"] / (peak_gflops * 1e9)
        print(f"| {row['evaluation']} | {row['flops']:.3g} | {row['floor_s']:.2f} s | {row['target_s']:g} s | "
              f"{row['target_s'] / row['floor_s']:.2f} | {row['note']} |", flush=True)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- workloads
def workloads(only: set[str] | None, nca_steps: int = 96):
    """(group, name, cells per step, {impl: (factory, rate guess)}, note)."""
    rows = []
    life_sizes = [(256, 16), (1024, 1), (4096, 1)] + ([(16384, 1)] if GPU else [])
    for size, batch in life_sizes:
        cells = size * size * batch
        label = f"Life B3/S23 {size}^2" + (f" x{batch}" if batch > 1 else "")
        rows.append(("life", label, cells, {
            "ours": (lambda s=size, b=batch: ours_life(s, b), 2e12 if GPU else 5e9),
            "cax": (lambda s=size, b=batch: cax_life(s, b), 7e10 if GPU else 4e7),
        }, "uint8 ours (bit-packed rollout), float32 CAX"))
    if len(jax.devices()) > 1:
        n = len(jax.devices())
        rows.append(("life", f"Life B3/S23 1024^2, ours sharded over {n} devices", 1024 * 1024, {
            "ours": (lambda: ours_life_sharded(1024), 2e12 if GPU else 1e10),
            "cax": (lambda: cax_life(1024, 1), 7e10 if GPU else 4e7),
        }, f"uint8 ours (`sharded_rollout`, {n} row slabs), float32 CAX on one device (it has no sharded rollout)"))
    for rule in (30, 110):
        width, batch = 1 << 16, 16
        rows.append(("eca", f"ECA rule {rule} {width} x{batch}", width * batch, {
            "ours": (lambda r=rule: ours_eca(r, width, batch), 1e12 if GPU else 5e9),
            "cax": (lambda r=rule: cax_eca(r, width, batch), 1e10 if GPU else 1e7),
        }, "periodic"))
        rows.append(("eca", f"ECA rule {rule} 1024 (CellPyLib)", 1024, {
            "cellpylib": (lambda r=rule: cellpylib_eca(r, 1024, 1), 8e4),
        }, "non-memoised cpl.evolve, width 1024"))
    rows.append(("lenia", "Lenia Orbium 256^2 x8", 256 * 256 * 8, {
        "ours": (lambda: ours_lenia(256, 8), 1e11 if GPU else 2e8),
        "cax": (lambda: cax_lenia(256, 8), 1e10 if GPU else 1e8),
    }, "FFT convolution, float32, Orbium rule (CAX: Gaussian kernel core, nnx.vmap over the batch); "
       "needs CAX_ZOO_DATA or network for our Orbium"))
    rows.append(("train", f"growing-NCA train step, batch 8, 72^2x16, {nca_steps} NCA steps (ours: MLP on every cell)", 1, {
        "ours": (lambda: ours_nca_train(nca_steps), 10.0 if GPU else 0.02),
        "cax": (lambda: cax_nca_train(nca_steps), 10.0 if GPU else 0.02),
    }, "train steps/s, not cell-updates; paper: 64-96 steps, here fixed; pool of seeds; active_cells=0"))
    rows.append(("train", f"growing-NCA train step as above, {nca_steps} NCA steps, CAX rollout hand-unrolled (not CAX's API)", 1, {
        "ours": (lambda: ours_nca_train(nca_steps), 10.0 if GPU else 0.02),
        "cax": (lambda: cax_nca_train(nca_steps, unroll=True), 10.0 if GPU else 0.02),
    }, "CAX: Python loop over _step instead of cs(state, num_steps=...)"))
    active = 0.15
    rows.append(("train", f"growing-NCA train step, {nca_steps} NCA steps, pool of grown states (ours: active_cells={active}, the recipe's), "
                 "CAX rollout hand-unrolled", 1, {
        "ours": (lambda: ours_nca_train(nca_steps, active, grown=True), 10.0 if GPU else 0.02),
        "cax": (lambda: cax_nca_train(nca_steps, unroll=True), 10.0 if GPU else 0.02),
    }, f"ours: discs of radius {GROWN_RADIUS} alive (a grown image; the MLP runs where it can change the result); "
       "CAX's cost does not depend on the states; FLOP/s fractions count the dense step's FLOPs"))
    rows.append(("train", "self-classifying-MNIST train step, batch 16, 28^2x20, 20 NCA steps (ours: live-cell lists, max_live 256)", 1, {
        "ours": (lambda: ours_mnist_train(256), 10.0 if GPU else 0.5),
        "cax": (lambda: cax_mnist_train(), 10.0 if GPU else 0.5),
    }, "train steps/s; recipe FULL config with MNIST_ROW (pool 1024, L2 on live cells every step, no noise); FLOP/s fractions of both "
       "sides count ours' live-cell FLOPs (CAX computes the dense grid)"))
    rows.append(("train", "self-classifying-MNIST train step, batch 16, 28^2x20, 20 NCA steps (ours: dense grid, max_live 0)", 1, {
        "ours": (lambda: ours_mnist_train(0), 10.0 if GPU else 0.5),
        "cax": (lambda: cax_mnist_train(), 10.0 if GPU else 0.5),
    }, "train steps/s; recipe FULL config with MNIST_ROW and max_live=0"))
    rows.append(("train", "self-classifying-MNIST train step as above, CAX rollout hand-unrolled (not CAX's API)", 1, {
        "ours": (lambda: ours_mnist_train(0), 10.0 if GPU else 0.5),
        "cax": (lambda: cax_mnist_train(unroll=True), 10.0 if GPU else 0.5),
    }, "ours dense (max_live 0); CAX: Python loop over _step instead of nnx.scan"))
    if only is None and not GPU:  # minutes per step on a small shared CPU: ask for it
        rows = [r for r in rows if r[0] != "train"]
    return [r for r in rows if only is None or r[0] in only]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated groups: life,eca,lenia,train,floors (train runs "
                        "by default only on a GPU; floors: the FLOP floors of the 1D-ARC and MNIST evaluations)")
    parser.add_argument("--match", help="only the rows whose workload contains this text")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nca-steps", type=int, default=96, help="NCA steps per training rollout")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--cpu-devices", type=int, default=0,
                        help="split the CPU into this many JAX devices (adds a sharded Life row; 0: one device)")
    args = parser.parse_args(argv)
    if args.cpu_devices:
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)  # before the backend starts
    global GPU
    GPU = jax.default_backend() != "cpu"
    only = set(args.only.split(",")) if args.only else None

    dev = jax.devices()[0]
    print(f"# machine: {platform.machine()} {platform.processor() or ''} | device: {dev.device_kind} "
          f"({jax.default_backend()}) x{len(jax.devices())} | python {platform.python_version()}")
    print(f"# jax {_version('jax')}, equinox {_version('equinox')}, cax_zoo {cax_zoo.__version__}, "
          f"cax {_version('cax')}, cellpylib {_version('cellpylib')}")
    peak = matmul_gflops(args.repeat)
    print(f"# matmul 4096x4096 float32: {peak:.1f} GFLOP/s (training rows: fraction of this)")
    header = ["workload", "ours (upd/s)", "CAX (upd/s)", "ours/CAX", "CellPyLib (upd/s)", "ours/CellPyLib",
              "of matmul FLOP/s (ours / CAX)", "note"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    results, eca_ours = [], {}
    for group, name, cells, impls, note in workloads(only, args.nca_steps):
        if args.match and args.match not in name:
            continue
        rates, flops = {}, None
        for impl, (factory, guess) in impls.items():
            try:
                run = factory()
                rates[impl] = timed(run, cells, guess, args.repeat)
                if hasattr(run, "flops_per_step"):
                    try:
                        flops = run.flops_per_step()
                    except Exception as exc:  # the rate stands without the count
                        note = f"{note}; flops_per_step failed: {type(exc).__name__}: {exc}"
            except ImportError as exc:
                rates[impl] = None
                note = f"{note}; {impl}: n/a ({exc.name} not installed)"
            except Exception as exc:  # a peer failing must not stop the table
                rates[impl] = None
                note = f"{note}; {impl} failed: {type(exc).__name__}: {exc}"
        if group == "eca" and "ours" in rates:
            eca_ours[name.split()[2]] = rates["ours"]
        if "cellpylib" in rates:  # compare with our rate on the same rule
            rates["ours"] = eca_ours.get(name.split()[2])

        def fmt(x):
            return "n/a" if x is None else f"{x:.3g}"

        def ratio(a, b):
            return "" if a is None or b is None else f"{a / b:,.0f}x" if a / b >= 10 else f"{a / b:.2g}x"

        ours, peer, cpl = rates.get("ours"), rates.get("cax"), rates.get("cellpylib")
        # the same workload on both sides: ours' FLOPs per train step measure CAX's too
        fraction = {k: r * flops / (peak * 1e9) for k, r in rates.items() if r is not None} if flops else {}

        def pct(k):
            return f"{100 * fraction[k]:.1f}%" if k in fraction else "n/a"

        row = [name, fmt(ours), fmt(peer) if "cax" in impls else "", ratio(ours, peer),
               fmt(cpl) if "cellpylib" in impls else "", ratio(ours, cpl),
               f"{pct('ours')} / {pct('cax')}" if group == "train" else "", note]
        print("| " + " | ".join(row) + " |", flush=True)
        entry = {"workload": name, "cells_per_step": cells, "rates": rates, "note": note}
        if group == "train":
            entry.update(flops_per_step=flops, matmul_fraction=fraction)
        results.append(entry)
    floors = print_floors(peak) if only is None or "floors" in only else []
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"jax": _version("jax"), "backend": jax.default_backend(), "matmul_gflops": peak,
                       "rows": results, "floors": floors}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
