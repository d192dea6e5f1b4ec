"""Flow Lenia (Plantec et al. 2023): mass conservation, flow transport, gradients, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, StateError
from cax_zoo._families._flow_lenia import FlowLenia, reintegrate


def test_mass_conserved_over_1000_steps():
    model = cax_zoo.load("flow_lenia")
    state = model.init_state(64)
    _, traj = model.rollout(state, 1000, every=100, trajectory=True)
    mass = np.asarray(traj, np.float64).sum(axis=(1, 2, 3))
    # float32 precision: within 1000 steps x float32 epsilon (1.2e-7) of the start
    assert np.all(np.abs(mass / mass[0] - 1) < 1000 * np.finfo(np.float32).eps)
    assert bool(jnp.all(traj >= 0))
    # and it does something: matter concentrates (values above the soup's maximum of 1)
    assert float(traj[-1].max()) > 1.0


def test_multi_channel_mass_conserved_per_channel():
    model = FlowLenia(num_channels=3, num_kernels=9, key=jax.random.PRNGKey(1))
    state = model.init_state(48, key=jax.random.PRNGKey(2))
    out = model.rollout(state, 200)
    before = np.asarray(state, np.float64).sum(axis=(0, 1))
    after = np.asarray(out, np.float64).sum(axis=(0, 1))
    np.testing.assert_allclose(after, before, rtol=2e-5)


def test_reintegration_moves_matter_by_the_flow():
    """A uniform flow of (2, -1) cells per step translates the state exactly (sigma = 1/2
    makes every square coincide with a cell)."""
    x = jax.random.uniform(jax.random.PRNGKey(0), (16, 16, 1))
    flow = jnp.broadcast_to(jnp.asarray([2.0, -1.0]), (16, 16, 1, 2))
    out = reintegrate(x, flow, dt=1.0, sigma=0.5, dd=3)
    np.testing.assert_allclose(out, jnp.roll(x, (2, -1), axis=(0, 1)), atol=1e-6)
    # half a cell: the mass splits evenly between two neighbours
    half = jnp.broadcast_to(jnp.asarray([0.5, 0.0]), (16, 16, 1, 2))
    out = reintegrate(x, half, dt=1.0, sigma=0.5, dd=3)
    expected = 0.5 * (x + jnp.roll(x, 1, axis=0))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_grad_with_respect_to_rule_arrays():
    model = FlowLenia(dd=2)  # a small flow window keeps the compile short
    state = model.init_state(32)
    grads = eqx.filter_grad(lambda mdl: jnp.sum(mdl.rollout(state, 5) ** 2))(model)
    for name in ("m", "s", "r", "h"):
        g = np.asarray(getattr(grads.rule, name))
        assert np.all(np.isfinite(g)) and np.any(g != 0), name


def test_config_round_trip(tmp_path):
    model = FlowLenia(num_channels=2, num_kernels=4, dd=3, key=jax.random.PRNGKey(5))
    cax_zoo.save_pretrained(model, tmp_path / "f")
    back = cax_zoo.load_pretrained(tmp_path / "f")
    assert back.config() == model.config()
    state = model.init_state(32)
    np.testing.assert_allclose(back.rollout(state, 3), model.rollout(state, 3), atol=1e-6)
    assert model.render(state).shape == (32, 32, 3)


def test_bad_config_and_states():
    with pytest.raises(ConfigError, match="sigma"):
        FlowLenia(sigma=6.0)
    with pytest.raises(ConfigError, match="dt"):
        FlowLenia(dt=-1.0)
    with pytest.raises(StateError, match="spatial extent"):
        FlowLenia().rollout(jnp.zeros((12, 12, 1)), 1)
    with pytest.raises(StateError, match="channel"):
        FlowLenia().rollout(jnp.zeros((32, 32, 2)), 1)
