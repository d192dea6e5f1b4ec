"""Throughput of cax_zoo next to its peers (CAX, CellPyLib), in one run, one table.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py --only life,eca # a subset
    python benchmarks/run.py --json out.json # also write the rows

Needs the ``bench`` extra for the peers (``pip install -e .[bench]``: cax, cellpylib); a
missing peer shows as ``n/a``. Each number is cell-updates per second (state cells x
steps / wall time) from the best of ``--repeat`` timed runs after a warm-up run that
compiles; batched rows count every grid of the batch. Never part of the unit tests.
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
from cax_zoo._families._elementary import Elementary
from cax_zoo._families._life import Life

GPU = jax.default_backend() != "cpu"
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


# ---------------------------------------------------------------- implementations
def ours_life(size: int, batch: int):
    model = Life("B3/S23")
    state = jax.random.bernoulli(jax.random.PRNGKey(0), 0.5, (batch, size, size, 1) if batch > 1 else (size, size, 1))
    state = state.astype(jnp.uint8)
    return lambda n: model.rollout(state, n).block_until_ready()


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
    CAX's default Gaussian kernel core instead of Orbium's bump, which costs the same."""
    from cax.cs.lenia.cs import Lenia as CaxLenia
    from cax.cs.lenia.growth import GrowthParams
    from cax.cs.lenia.kernel import KernelParams
    from cax.cs.lenia.rule import LeniaRuleParams

    rule = LeniaRuleParams(
        channel_source=jnp.array([0]), channel_target=jnp.array([0]), weight=jnp.array([1.0]),
        kernel_params=KernelParams(r=jnp.array([1.0]), b=jnp.array([[1.0]])),
        growth_params=GrowthParams(mean=jnp.array([0.15]), std=jnp.array([0.015])))
    model = CaxLenia((size, size), 1, R=13, T=10, rule_params=rule)
    state = jax.random.uniform(jax.random.PRNGKey(0), (batch, size, size, 1))
    return lambda n: model(state, num_steps=n).block_until_ready()


def ours_nca_train(nca_steps: int):
    """One training iteration of the growing-NCA recipe (recipes/growing_nca.py) at the
    paper's batch size 8, 72x72x16 grids, with every rollout ``nca_steps`` long."""
    import optax  # noqa: F401  (the recipe's optimizer)

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from recipes import growing_nca as recipe

    from cax_zoo._training._optim import make_optimizer

    cfg = {**recipe.FULL, "rollout_min": nca_steps, "rollout_max": nca_steps}
    model = recipe._create(cfg)
    optimizer = make_optimizer(cfg["lr"], normalize_gradients=True)
    opt_state = optimizer.init(eqx_filter(model))
    train_step = recipe.make_train_step(optimizer, cfg)
    seed = model.init_state()
    pool = jnp.stack([seed] * cfg["pool_size"])
    target = jax.random.uniform(jax.random.PRNGKey(1), seed.shape[:2] + (4,))
    state = {"model": model, "opt": opt_state, "pool": pool}

    def run(n):
        for i in range(n):
            state["model"], state["opt"], state["pool"], loss = train_step(
                state["model"], state["opt"], state["pool"], seed, target, jax.random.PRNGKey(i))
        jax.block_until_ready(loss)

    return run


def eqx_filter(model):
    import equinox as eqx

    return eqx.filter(model, eqx.is_array)


def cax_nca_train(nca_steps: int):
    """The same workload with CAX's ConvPerceive + NCAUpdate (identity + Sobel perception,
    128 hidden units, cell dropout 0.5, alive masking) and optax Adam."""
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
            return jnp.mean((cs(state, num_steps=nca_steps)[..., :4] - target) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn, argnums=nnx.DiffState(0, params))(cs)
        opt.update(cs, grads)
        return loss

    def run(n):
        for _ in range(n):
            loss = train_step(cs, opt, state)
        jax.block_until_ready(loss)

    return run


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
        "cax": (lambda: cax_lenia(256, 8), 1e10 if GPU else 2e7),
    }, "FFT convolution, float32, Orbium rule (CAX: Gaussian kernel core); needs CAX_ZOO_DATA or network for our Orbium"))
    rows.append(("train", f"growing-NCA train step, batch 8, 72^2x16, {nca_steps} NCA steps", 1, {
        "ours": (lambda: ours_nca_train(nca_steps), 10.0 if GPU else 0.02),
        "cax": (lambda: cax_nca_train(nca_steps), 10.0 if GPU else 0.02),
    }, "train steps/s, not cell-updates; paper: 64-96 steps, here fixed"))
    if only is None and not GPU:  # minutes per step on a small shared CPU: ask for it
        rows = [r for r in rows if r[0] != "train"]
    return [r for r in rows if only is None or r[0] in only]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated groups: life,eca,lenia,train (train runs "
                        "by default only on a GPU)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nca-steps", type=int, default=96, help="NCA steps per training rollout")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None

    dev = jax.devices()[0]
    print(f"# machine: {platform.machine()} {platform.processor() or ''} | device: {dev.device_kind} "
          f"({jax.default_backend()}) x{len(jax.devices())} | python {platform.python_version()}")
    print(f"# jax {_version('jax')}, equinox {_version('equinox')}, cax_zoo {cax_zoo.__version__}, "
          f"cax {_version('cax')}, cellpylib {_version('cellpylib')}")
    header = ["workload", "ours (upd/s)", "CAX (upd/s)", "ours/CAX", "CellPyLib (upd/s)", "ours/CellPyLib", "note"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    results, eca_ours = [], {}
    for group, name, cells, impls, note in workloads(only, args.nca_steps):
        rates = {}
        for impl, (factory, guess) in impls.items():
            try:
                rates[impl] = timed(factory(), cells, guess, args.repeat)
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
        row = [name, fmt(ours), fmt(peer) if "cax" in impls else "", ratio(ours, peer),
               fmt(cpl) if "cellpylib" in impls else "", ratio(ours, cpl), note]
        print("| " + " | ".join(row) + " |", flush=True)
        results.append({"workload": name, "cells_per_step": cells, "rates": rates, "note": note})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"jax": _version("jax"), "backend": jax.default_backend(), "rows": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
