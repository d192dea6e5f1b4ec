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


@pytest.mark.parametrize("d,size,R", [(1, 128, 10.0), (3, 24, 4.0)])
def test_mass_conserved_in_1d_and_3d(d, size, R):
    model = FlowLenia(num_spatial_dims=d, R=R, dd=3)
    state = model.init_state(size)
    assert state.shape == (size,) * d + (1,)
    _, traj = model.rollout(state, 200, every=50, trajectory=True)
    mass = np.asarray(traj, np.float64).reshape(traj.shape[0], -1).sum(axis=1)
    assert np.all(np.abs(mass / mass[0] - 1) < 200 * np.finfo(np.float32).eps)
    assert bool(jnp.all(traj >= 0)) and float(traj[-1].max()) > 1.0  # matter gathers
    image = model.render(traj[-1])
    assert image.shape == ((1, size, 3) if d == 1 else (size, size, 3))


def test_reintegration_in_d_dims_matches_d_minus_1_on_extruded_states():
    """Matter that is constant along an extra axis and does not flow along it moves
    exactly as in one dimension fewer, slice by slice (3-D vs 2-D, 2-D vs 1-D)."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(4))
    x2 = jax.random.uniform(k1, (14, 12, 2))
    f2 = 6.0 * jax.random.normal(k2, (14, 12, 2, 2))
    kw = dict(dt=0.5, sigma=0.65, dd=3)
    want = reintegrate(x2, f2, **kw)
    x3 = jnp.broadcast_to(x2[:, :, None], (14, 12, 5, 2))
    f3 = jnp.concatenate([jnp.broadcast_to(f2[:, :, None], (14, 12, 5, 2, 2)),
                          jnp.zeros((14, 12, 5, 2, 1))], axis=-1)
    got = reintegrate(x3, f3, **kw)
    for z in range(5):
        np.testing.assert_allclose(got[:, :, z], want, atol=1e-6)
    x1, f1 = x2[:, 0], f2[:, 0, :, :1]
    want1 = reintegrate(x1, f1, **kw)
    x2e = jnp.broadcast_to(x1[:, None], (14, 6, 2))
    f2e = jnp.concatenate([jnp.broadcast_to(f1[:, None], (14, 6, 2, 1)), jnp.zeros((14, 6, 2, 1))], axis=-1)
    got2 = reintegrate(x2e, f2e, **kw)
    for y in range(6):
        np.testing.assert_allclose(got2[:, y], want1, atol=1e-6)
    # and a uniform integer flow translates a 3-D state exactly
    x = jax.random.uniform(k1, (8, 9, 10, 1))
    flow = jnp.broadcast_to(jnp.asarray([1.0, -2.0, 3.0]), (8, 9, 10, 1, 3))
    out = reintegrate(x, flow, dt=1.0, sigma=0.5, dd=4)
    np.testing.assert_allclose(out, jnp.roll(x, (1, -2, 3), axis=(0, 1, 2)), atol=1e-6)
    with pytest.raises(StateError, match="spatial components"):
        reintegrate(x, flow[..., :2], dt=1.0, sigma=0.5, dd=3)


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
    three = cax_zoo.create("flow_lenia", num_spatial_dims=3, R=4.0, dd=2)
    cax_zoo.save_pretrained(three, tmp_path / "g")
    assert cax_zoo.load_pretrained(tmp_path / "g").config()["num_spatial_dims"] == 3


def test_bad_config_and_states():
    with pytest.raises(ConfigError, match="sigma"):
        FlowLenia(sigma=6.0)
    with pytest.raises(ConfigError, match="dt"):
        FlowLenia(dt=-1.0)
    with pytest.raises(StateError, match="spatial extent"):
        FlowLenia().rollout(jnp.zeros((12, 12, 1)), 1)
    with pytest.raises(StateError, match="channel"):
        FlowLenia().rollout(jnp.zeros((32, 32, 2)), 1)
    with pytest.raises(ConfigError, match="num_spatial_dims"):
        FlowLenia(num_spatial_dims=0)
    with pytest.raises(StateError, match="spatial extent"):
        FlowLenia(num_spatial_dims=3, R=4.0, dd=2).rollout(jnp.zeros((16, 16, 6, 1)), 1)
