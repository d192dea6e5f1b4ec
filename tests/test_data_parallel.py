"""Data-parallel training (cax_zoo._training._data_parallel and the recipes' ``devices``
key): a train step on 4 or 8 (forced host) devices with a sharded pool equals the
single-device step up to the order of floating-point reductions, a recipe run on 4
devices (and resumed on 2) releases the same weights as on 1, and bad device counts are
ConfigErrors.

The device count is fixed when JAX starts, so the multi-device checks run in a child
Python process with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``.
"""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from cax_zoo import ConfigError
from cax_zoo._training._data_parallel import data_mesh, resolve_devices

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import equinox as eqx
    import jax, jax.numpy as jnp, numpy as np, optax
    from cax_zoo import ConfigError
    from cax_zoo._families._growing_nca import LIZARD, emoji_target
    from cax_zoo._training._data_parallel import data_mesh, replicate, shard_leading
    from cax_zoo._weights import read_weights
    from recipes import growing_nca, mnist_self_classify

    assert len(jax.devices()) == 8, jax.devices()
    tmp = Path(sys.argv[1])
    close = dict(rtol=1e-4, atol=1e-6)

    def arrays(tree):
        return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]

    def one_step(recipe, cfg, model, pool, data, n):
        # plain SGD (lr 1): the parameter change IS the (all-reduced) gradient
        opt = optax.sgd(1.0)
        opt_state = opt.init(eqx.filter(model, eqx.is_array))
        mesh = data_mesh(n, divides={"batch_size": cfg["batch_size"]})
        if mesh is not None:
            model, opt_state, data = replicate((model, opt_state, data), mesh)
            pool = shard_leading(pool, mesh)
            assert len(jax.tree_util.tree_leaves(pool)[0].sharding.device_set) == n
        step = recipe.make_train_step(opt, cfg, mesh)
        model, _, pool, loss = step(model, opt_state, pool, *data, jax.random.PRNGKey(7))
        if mesh is not None:
            assert len(jax.tree_util.tree_leaves(pool)[0].sharding.device_set) == n
        return float(loss), arrays(model), arrays(pool)

    def check_equal(single, parallel, what):
        np.testing.assert_allclose(parallel[0], single[0], rtol=1e-5, err_msg=what + " loss")
        for a, b in zip(single[1] + single[2], parallel[1] + parallel[2]):
            np.testing.assert_allclose(b, a, **close, err_msg=what)

    # (1a) growing NCA: 8 samples, pool of 16 split over 8 devices
    cfg = {**growing_nca.SMOKE, "batch_size": 8, "pool_size": 16, "damage": 2}
    model = growing_nca._create(cfg)
    model = jax.tree_util.tree_map(  # leave the zero-initialised last layer: non-zero gradients everywhere
        lambda x: x + 0.05 * jax.random.normal(jax.random.PRNGKey(1), x.shape) if eqx.is_inexact_array(x) else x,
        model)
    seed = model.init_state()
    pool = jnp.broadcast_to(seed, (16,) + seed.shape)
    target = jnp.asarray(emoji_target(LIZARD, size=cfg["target_size"], padding=cfg["padding"]))
    single = one_step(growing_nca, cfg, model, pool, (seed, target), 1)
    assert np.any(single[1][-1] != arrays(model)[-1])  # the step did change the weights
    check_equal(single, one_step(growing_nca, cfg, model, pool, (seed, target), 8), "growing_nca 8 devices")

    # (1b) self-classifying MNIST (live-cell training path): 4 samples on 4 devices, data replicated
    from cax_zoo._data._mnist import load_mnist

    images, labels = load_mnist("train")
    images, labels = jnp.asarray(images[:64]), jnp.asarray(labels[:64].astype(np.int32))
    cfg = {**mnist_self_classify.SMOKE, "batch_size": 4, "pool_size": 8}
    model = mnist_self_classify._create(cfg)
    model = jax.tree_util.tree_map(
        lambda x: x + 0.05 * jax.random.normal(jax.random.PRNGKey(2), x.shape) if eqx.is_inexact_array(x) else x,
        model)
    pool = mnist_self_classify._fresh(model, images, labels, jnp.arange(8))
    single = one_step(mnist_self_classify, cfg, model, pool, (images, labels), 1)
    check_equal(single, one_step(mnist_self_classify, cfg, model, pool, (images, labels), 4), "mnist 4 devices")

    # (2) the recipe end to end: 4 devices straight; 4 devices stopped after 2 steps and
    # resumed on 2; 1 device. The released weights agree.
    common = ["--smoke", "--no-progress", "--config", "batch_size=4", "--config", "pool_size=8"]

    def released(out):
        return read_weights(out / "growing_nca" / "lizard" / "model.safetensors")

    assert growing_nca.main([*common, "--out", str(tmp / "one")]) == 0
    assert growing_nca.main([*common, "--config", "devices=4", "--out", str(tmp / "four")]) == 0
    assert growing_nca.main([*common, "--config", "devices=4", "--stop-after", "2", "--out", str(tmp / "split")]) == 0
    assert growing_nca.main(["--smoke", "--no-progress", "--resume", "--config", "devices=2",
                             "--out", str(tmp / "split")]) == 0
    one = released(tmp / "one")
    for other in ("four", "split"):
        weights = released(tmp / other)
        assert weights.keys() == one.keys()
        for k in one:
            np.testing.assert_allclose(weights[k], one[k], **close, err_msg=f"{other} {k}")

    # the 1D-ARC recipe splits each batch's rows (padded with masked-out rows) over devices
    from recipes import arc1d_nca

    arc = ["--smoke", "--no-progress"]
    assert arc1d_nca.main([*arc, "--out", str(tmp / "arc_one")]) == 0
    assert arc1d_nca.main([*arc, "--config", "devices=4", "--out", str(tmp / "arc_four")]) == 0
    one = read_weights(tmp / "arc_one" / "arc1d_nca" / "model.safetensors")
    four = read_weights(tmp / "arc_four" / "arc1d_nca" / "model.safetensors")
    for k in one:
        np.testing.assert_allclose(four[k], one[k], rtol=1e-4, atol=1e-5, err_msg=f"arc1d {k}")

    # (3) bad device counts and shapes
    for n, sizes, message in [
        (4, {"batch_size": 2, "pool_size": 4}, "batch_size=2 must be divisible by the number of devices (4)"),
        (3, {"batch_size": 3, "pool_size": 4}, "pool_size=4 must be divisible by the number of devices (3)"),
        (16, {}, "devices=16 but only 8 cpu device(s) exist"),
    ]:
        try:
            data_mesh(n, divides=sizes)
        except ConfigError as e:
            assert message in str(e), (str(e), message)
        else:
            raise AssertionError(f"no ConfigError for {n} devices, {sizes}")
    assert growing_nca.main(["--smoke", "--no-progress", "--config", "devices=4", "--out", str(tmp / "bad")]) == 2
    assert not (tmp / "bad").exists()
    try:
        shard_leading({"pool": jnp.zeros((6, 3))}, data_mesh(4))
    except ConfigError as e:
        assert "pool" in str(e) and "(6, 3)" in str(e) and "4 devices" in str(e), str(e)
    else:
        raise AssertionError("no ConfigError for a pool of 6 over 4 devices")
    print("OK")
    """
)


def test_data_parallel_matches_single_device_on_8_devices(tmp_path, data_dir):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu",
               CAX_ZOO_DATA=str(data_dir))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=400, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")
    assert "data parallel over 4 devices" in proc.stdout and "data parallel over 2 devices" in proc.stdout


def test_device_count_errors_on_this_process(tmp_path, capsys):
    n = len(jax.devices())
    assert resolve_devices(0) == n and resolve_devices(1) == 1
    assert data_mesh(1, divides={"batch_size": 3}) is None  # one device: today's single-device run
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="devices must be an integer"):
            resolve_devices(bad)
    with pytest.raises(ConfigError, match=f"devices={n + 1} but only {n}"):
        data_mesh(n + 1)
    from recipes import arc1d_nca, growing_nca, mnist_self_classify

    for recipe in (growing_nca, mnist_self_classify, arc1d_nca):
        code = recipe.main(["--smoke", "--no-progress", "--config", f"devices={n + 1}", "--out", str(tmp_path / "x")])
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: devices=") and "device(s) exist" in err and "\n" not in err
    assert not (tmp_path / "x").exists()  # nothing written before the check
    assert {"devices"} <= set(growing_nca.FULL) & set(mnist_self_classify.FULL) & set(arc1d_nca.FULL)
    assert growing_nca.FULL["devices"] == mnist_self_classify.SMOKE["devices"] == 1
