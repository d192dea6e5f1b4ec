"""Flow Lenia (Plantec et al. 2023): mass conservation, flow transport, gradients, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, StateError
from cax_zoo.flow_lenia import FlowLenia, mix_average, mix_sample, reintegrate


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


# ----------------------------------------------------------------------------- CAX's presets
def _cax_flow_lenia_steps(a, *, R, T, scale, rule, steps, dd=5, sigma=0.65, theta=1.0, n=2):
    """CAX's FlowLeniaUpdate (``cax/cs/flow_lenia/update.py``) in float64 numpy, 2-D:
    Lenia's affinity, 3x3 Sobel gradients (matter stays away from the edges, where CAX pads
    with zeros), per-channel ``alpha``, and its reintegration tracking: for every
    displacement, the overlap of each moved square with each cell (nearest periodic image)."""
    h, w, c = a.shape
    x = np.mgrid[-h // 2: h // 2, -w // 2: w // 2] / (scale * R)
    d = np.linalg.norm(x, axis=0)
    kfft = []
    for r, b in zip(rule["r"], rule["b"]):
        k = (d < r) * b[0] * np.exp(-0.5 * ((d / r % 1) - 0.5) ** 2 / 0.15**2)
        kfft.append(np.fft.fft2(np.fft.fftshift(k / k.sum())))
    kfft = np.stack(kfft, -1)
    kx = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])

    def conv(f, k):  # 'same' correlation with the flipped kernel = convolution
        out = np.zeros_like(f)
        for i in range(3):
            for j in range(3):
                out += k[i, j] * np.roll(f, (i - 1, j - 1), axis=(0, 1))
        return out

    pos = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1) + 0.5
    dt = 1 / T
    for _ in range(steps):
        u = np.real(np.fft.ifft2(kfft * np.fft.fft2(a, axes=(0, 1))[..., rule["src"]], axes=(0, 1)))
        g = rule["h"] * (2 * np.exp(-0.5 * ((u - rule["m"]) / rule["s"]) ** 2) - 1)
        U = g @ np.eye(c)[rule["dst"]]
        grad = lambda f: np.stack([conv(f, kx.T), conv(f, kx)], axis=2)  # (h, w, 2, c)
        nabla_u, nabla_a = grad(U), grad(a.sum(-1, keepdims=True))
        alpha = np.clip((a[:, :, None, :] / theta) ** n, 0, 1)
        F = nabla_u * (1 - alpha) - nabla_a * alpha
        mu = pos[..., None] + np.clip(dt * F, -(dd - sigma), dd - sigma)
        new = np.zeros_like(a)
        for dy in range(-dd, dd + 1):
            for dx in range(-dd, dd + 1):
                ar, mur = np.roll(a, (dy, dx), axis=(0, 1)), np.roll(mu, (dy, dx), axis=(0, 1))
                dp = np.min([np.abs(pos[..., None] - (mur + np.array([i, j])[None, None, :, None]))
                             for i in (-h, 0, h) for j in (-w, 0, w)], axis=0)
                area = np.prod(np.clip(0.5 - dp + sigma, 0, min(1, 2 * sigma)), axis=2) / (4 * sigma**2)
                new += ar * area
        a = new
    return a


def test_cax_orbium_preset_follows_cax_definitions():
    model = cax_zoo.load("flow_lenia/orbium")
    assert (model.lenia.R, model.dt, model.lenia.state_scale, model.alpha) == (12.0, 0.1, 2, "channel")
    state = model.init_state((64, 64))
    assert float(state.sum()) == pytest.approx(4 * 75.10, abs=0.05)  # CAX's Orbium cells, 2x2 per cell
    rule = model.rule
    ref = _cax_flow_lenia_steps(
        np.asarray(state, np.float64), R=12.0, T=10.0, scale=2, steps=4,
        rule={"r": np.asarray(rule.r), "b": np.asarray(rule.b), "h": np.asarray(rule.h), "m": np.asarray(rule.m),
              "s": np.asarray(rule.s), "src": np.asarray(rule.sources), "dst": np.asarray(rule.targets)})
    np.testing.assert_allclose(np.asarray(model.rollout(state, 4)), ref, atol=1e-4)


def test_cax_presets_run_and_conserve_mass():
    for name, channels in (("flow_lenia/5n7kkm", 3), ("flow_lenia/random_3ch", 3), ("flow_lenia/random_1ch", 1)):
        model = cax_zoo.load(name)
        state = model.init_state((64, 64))
        assert state.shape == (64, 64, channels)
        out = model.rollout(state, 10)
        np.testing.assert_allclose(float(out.sum()), float(state.sum()), rtol=1e-5)
    random = cax_zoo.create("flow_lenia/random_1ch")
    assert random.lenia.kernel_core == "free"
    assert random.rule.a.shape == (10, 3) and random.lenia.R == 20.0
    assert not eqx.tree_equal(random.rule, cax_zoo.create("flow_lenia/random_1ch", seed=1).rule)
    soup = random.init_state((128, 128))
    assert int((np.asarray(soup)[..., 0] > 0).sum()) == 40 * 40  # CAX's 40x40 soup


# ----------------------------------------------------------------------------- localisation
def _two_species(mixing):
    model = FlowLenia(m=[0.15, 0.2], s=[0.02, 0.03], h=[1.0, 0.5], R=8.0, dd=2, localise=["h", "m"], mixing=mixing)
    matter = model.init_state((48, 48), key=jax.random.PRNGKey(4))[..., :1]
    left = jnp.arange(48)[None, :, None] < 24
    h = jnp.where(left, jnp.asarray([1.0, 0.5]), jnp.asarray([0.3, 0.9]))
    return model, model.with_parameters(matter, h=h)


@pytest.mark.parametrize("mixing", ["average", "sample"])
def test_localised_parameters_keep_mass(mixing):
    model, state = _two_species(mixing)
    assert model.num_channels == 1 + 2 * 2 and state.shape == (48, 48, 5)
    _, traj = model.rollout(state, 30, every=10, trajectory=True, key=jax.random.PRNGKey(0))
    mass = np.asarray(traj[..., 0], np.float64).sum(axis=(1, 2))
    assert np.all(np.abs(mass / mass[0] - 1) < 1e-5)
    h = np.asarray(traj[-1][..., 1:3])
    if mixing == "sample":  # every cell holds one of the two species' parameters
        species = np.array([[1.0, 0.5], [0.3, 0.9]])
        assert np.all(np.min(np.abs(h[..., None, :] - species).sum(-1), axis=-1) < 1e-6)
    else:  # averages stay within the species' range, and sum(A h) is carried like mass
        assert h.min() >= 0.3 - 1e-6 and h.max() <= 1.0 + 1e-6
        a0, a1 = np.asarray(traj[0][..., 0], np.float64), np.asarray(traj[1][..., 0], np.float64)
        np.testing.assert_allclose((a1[..., None] * np.asarray(traj[1][..., 1:3])).sum((0, 1)),
                                   (a0[..., None] * np.asarray(traj[0][..., 1:3])).sum((0, 1)), rtol=1e-4)


def test_uniform_localised_parameters_equal_the_global_rule():
    plain = FlowLenia(m=[0.15, 0.2], s=[0.02, 0.03], h=[1.0, 0.5], R=8.0, dd=2)
    local = FlowLenia(m=[0.15, 0.2], s=[0.02, 0.03], h=[1.0, 0.5], R=8.0, dd=2, localise=["h", "m", "s"])
    state = plain.init_state((48, 48))
    out = local.rollout(local.with_parameters(state), 20)
    np.testing.assert_allclose(np.asarray(out[..., :1]), np.asarray(plain.rollout(state, 20)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(out[..., 1:3]), np.broadcast_to([1.0, 0.5], (48, 48, 2)), atol=1e-5)


def test_mixing_of_two_packets():
    """Two packets meeting in one cell: the average weighs by mass; sampling without a key
    takes the heavier one."""
    mass = jnp.zeros((12, 12, 1)).at[5, 5, 0].set(3.0).at[5, 7, 0].set(1.0)
    params = jnp.zeros((12, 12, 1)).at[5, 5, 0].set(2.0).at[5, 7, 0].set(6.0)
    flow = jnp.zeros((12, 12, 1, 2)).at[5, 5, 0, 1].set(1.0).at[5, 7, 0, 1].set(-1.0)
    kw = dict(dt=1.0, sigma=0.5, dd=2)

    @jax.jit
    def both(keys):
        return (mix_average(mass, params, flow, **kw)[5, 6, 0], mix_sample(mass, params, flow, key=None, **kw)[5, 6, 0],
                jax.vmap(lambda k: mix_sample(mass, params, flow, key=k, **kw)[5, 6, 0])(keys))

    avg, picked, draws = both(jax.random.split(jax.random.PRNGKey(0), 40))
    assert float(avg) == pytest.approx((3 * 2 + 1 * 6) / 4, abs=1e-5)
    assert float(picked) == 2.0
    draws = np.asarray(draws).tolist()
    assert set(draws) == {2.0, 6.0} and 20 <= draws.count(2.0) <= 38  # about 3 in 4
    with pytest.raises(ConfigError, match="localise"):
        FlowLenia(localise=["r"])
