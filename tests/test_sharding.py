"""Sharded rollouts over 8 (forced host) devices equal single-device rollouts.

The device count is fixed when JAX starts, so the checks run in a child Python process
with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``; this process is unaffected.
"""

import os
import subprocess
import sys
import textwrap
import types

import jax
import jax.numpy as jnp
import pytest

from cax_zoo import ConfigError, StateError
from cax_zoo._families._life import Life
from cax_zoo._sharding import grid_mesh, sharded_rollout

CHILD = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from cax_zoo._sharding import sharded_rollout, grid_mesh
    from cax_zoo._families._life import Life
    from cax_zoo._families._elementary import Elementary

    assert len(jax.devices()) == 8, jax.devices()
    for boundary in ["periodic", "zero", "edge", "reflect"]:
        model = Life("B36/S23", boundary=boundary)
        state = model.init_state((32, 21), key=jax.random.PRNGKey(0))
        single = np.asarray(model.rollout(state, 9))
        # 9 steps = whole blocks of k steps between exchanges and a shorter last block
        for n, every in [(2, None), (2, 1), (2, 4), (2, 16), (8, 1), (8, 2), (8, 4)]:
            out = sharded_rollout(model, state, 9, grid_mesh(n), exchange_every=every)
            assert len(out.sharding.device_set) == n
            np.testing.assert_array_equal(np.asarray(out), single, err_msg=f"{boundary} {n} {every}")
    # a glider crossing device boundaries and the periodic seam
    model = Life()
    state = np.zeros((16, 16, 1), np.uint8)
    for r, c in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]:
        state[r, c, 0] = 1
    np.testing.assert_array_equal(np.asarray(sharded_rollout(model, state, 64, grid_mesh(8))), state)
    np.testing.assert_array_equal(np.asarray(sharded_rollout(model, state, 64, grid_mesh(2), exchange_every=8)), state)
    # rows of 16 words take the haloed packed step; exchanging every 7 steps
    for boundary in ["periodic", "zero"]:
        model = Life(boundary=boundary)
        state = model.init_state((64, 512), key=jax.random.PRNGKey(2))  # the haloed packed step
        np.testing.assert_array_equal(
            np.asarray(sharded_rollout(model, state, 30, grid_mesh(2), exchange_every=7)),
            np.asarray(model.rollout(state, 30)), err_msg=boundary)
    for boundary in ["periodic", "zero"]:
        model = Elementary(110, radius=2, boundary=boundary)
        state = model.init_state(64, key=jax.random.PRNGKey(1))
        batch = jnp.stack([state, 1 - state])
        for every in (1, 4):
            np.testing.assert_array_equal(
                np.asarray(sharded_rollout(model, batch, 13, grid_mesh(8), exchange_every=every)),
                np.asarray(model.rollout(batch, 13)), err_msg=f"{boundary} {every}")
    print("OK")
    """
)


def test_sharded_rollout_equals_single_device_on_8_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("OK")


def test_sharded_rollout_on_one_device_and_bad_input():
    model = Life()
    state = model.init_state(12)
    out = sharded_rollout(model, state, 5, grid_mesh(1))
    assert (jnp.asarray(out) == model.rollout(state, 5)).all()
    with pytest.raises(ConfigError, match="halo"):
        sharded_rollout(types.SimpleNamespace(), state, 1, grid_mesh(1))  # no halo property
    with pytest.raises(StateError, match="num_steps"):
        sharded_rollout(model, state, -1, grid_mesh(1))
    with pytest.raises(ConfigError, match="axis"):
        sharded_rollout(model, state, 1, grid_mesh(1), axis_name="nope")
    with pytest.raises(ConfigError, match="devices"):
        grid_mesh(len(jax.devices()) + 1)  # more devices than this process has
    with pytest.raises(ConfigError, match="exchange_every"):
        sharded_rollout(model, state, 1, grid_mesh(1), exchange_every=0)
    with pytest.raises(ConfigError, match="exchange_every=13 .* at most 12"):  # 12 rows, halo 1
        sharded_rollout(model, state, 1, grid_mesh(1), exchange_every=13)
    out = sharded_rollout(model, state, 7, grid_mesh(1), exchange_every=3)
    assert (jnp.asarray(out) == model.rollout(state, 7)).all()
