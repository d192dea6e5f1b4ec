"""The neural-CA core (cax_zoo.nca): perceive and update modules in 1-D, 2-D and 3-D against
numpy restatements of their definitions, the abstract NCA, and rollout's per-step input
and observe hook."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cax_zoo import ConfigError, StateError
from cax_zoo.blocks import kernel_stack
from cax_zoo.nca import (
    AbstractNCA, AbstractPerceive, AbstractUpdate, AliveMask, CellMLP, ConvPerceive, KernelPerceive, MLPUpdate,
    NCAUpdate, ResidualUpdate, batch_states, with_input,
)

KEY = jax.random.PRNGKey(0)
SHAPES = {1: (11,), 2: (7, 6), 3: (5, 4, 6)}


def _state(d, c=3, seed=0):
    return jax.random.normal(jax.random.PRNGKey(seed), SHAPES[d] + (c,))


def _np_neighbour(x, offset, boundary):
    """x[i + offset] with periodic wrap or zeros outside (numpy)."""
    if boundary == "periodic":
        return np.roll(x, tuple(-o for o in offset), axis=tuple(range(len(offset))))
    out = np.zeros_like(x)
    src, dst = [], []
    for o, n in zip(offset, x.shape):
        src.append(slice(max(o, 0), n + min(o, 0)))
        dst.append(slice(max(-o, 0), n + min(-o, 0)))
    out[tuple(dst)] = x[tuple(src)]
    return out


# ---------------------------------------------------------------- perceive
@pytest.mark.parametrize("d", [1, 2, 3])
def test_kernel_perceive_in_any_dimension(d):
    x = _state(d)
    p = KernelPerceive(("identity", "sobel", "laplacian"), num_spatial_dims=d, num_channels=3, boundary="periodic")
    f = np.asarray(p(x))
    k = 1 + d + 1  # identity, one Sobel per axis, Laplacian
    assert p.num_features == 3 * k and f.shape == SHAPES[d] + (3 * k,)
    np.testing.assert_allclose(f[..., ::k], np.asarray(x), atol=1e-6)  # identity, grouped per channel
    # a numpy restatement: sum over the 3^d window of kernel[o] * x[i + o]
    stack = kernel_stack(("identity", "sobel", "laplacian"), d)
    for j in range(k):
        ref = sum(stack[j][tuple(o + 1 for o in off)] * _np_neighbour(np.asarray(x), off, "periodic")
                  for off in p.offsets)
        np.testing.assert_allclose(f[..., j::k], ref, atol=1e-5)
    # the same features from gathered neighbourhoods (the live-cell path)
    np.testing.assert_allclose(np.asarray(p.from_patches(p.patches(x))), f, atol=1e-5)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_laplacian_of_a_quadratic_is_two(d):
    shape = (9,) * d
    coords = np.indices(shape)[0].astype(np.float32)
    x = jnp.asarray((coords**2)[..., None])
    p = KernelPerceive(("laplacian",), num_spatial_dims=d, num_channels=1, boundary="zero")
    inner = np.asarray(p(x))[(slice(1, -1),) * d]
    np.testing.assert_allclose(inner, 2.0, atol=1e-4)


@pytest.mark.parametrize("d,boundary", [(1, "zero"), (2, "periodic"), (3, "zero")])
def test_conv_perceive_is_a_dense_layer_over_the_window(d, boundary):
    x = _state(d)
    offsets = [tuple(o) for o in np.ndindex(*(3,) * d)]
    offsets = [tuple(v - 1 for v in o) for o in offsets]
    if d == 1:
        offsets += [(-4,), (4,)]  # far cells: any set of offsets
    p = ConvPerceive(num_spatial_dims=d, num_channels=3, num_features=5, offsets=offsets, boundary=boundary,
                     key=KEY)
    p = eqx.tree_at(lambda p: p.bias, p, jnp.arange(5.0) - 2)
    stacked = np.concatenate([_np_neighbour(np.asarray(x), o, boundary) for o in offsets], axis=-1)
    ref = np.maximum(stacked @ np.asarray(p.weight).T + np.asarray(p.bias), 0.0)
    np.testing.assert_allclose(np.asarray(p(x)), ref, atol=1e-5)
    assert p.weight.shape == (5, len(offsets) * 3)


def test_perceive_config_errors():
    with pytest.raises(ConfigError, match="kernels"):
        KernelPerceive(("identity", "gabor"), num_spatial_dims=2, num_channels=3)
    with pytest.raises(ConfigError, match="num_spatial_dims"):
        KernelPerceive(num_spatial_dims=4, num_channels=3)
    with pytest.raises(ConfigError, match="num_features"):
        ConvPerceive(num_spatial_dims=2, num_channels=3, num_features=0, key=KEY)
    with pytest.raises(ConfigError, match=r"offsets\[1\]"):
        ConvPerceive(num_spatial_dims=2, num_channels=3, num_features=4, offsets=[(0, 0), (1,)], key=KEY)
    with pytest.raises(ConfigError, match="key"):
        ConvPerceive(num_spatial_dims=2, num_channels=3, num_features=4, key=None)
    with pytest.raises(TypeError):
        AbstractPerceive()  # abstract


# ---------------------------------------------------------------- update
def _random_mlp(sizes, seed=1):
    mlp = CellMLP(sizes, key=jax.random.PRNGKey(seed))
    w = mlp.weights[-1]
    return eqx.tree_at(lambda m: m.weights[-1], mlp, 0.3 * jax.random.normal(jax.random.PRNGKey(seed + 1), w.shape))


def _np_mlp(mlp, x):
    for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases)):
        x = x @ np.asarray(w).T + np.asarray(b)
        if i < len(mlp.weights) - 1:
            x = np.maximum(x, 0)
    return x


@pytest.mark.parametrize("d", [1, 2, 3])
def test_updates_against_numpy(d):
    x = np.asarray(_state(d, c=4))
    feats = np.asarray(_state(d, c=6, seed=3))
    mlp = _random_mlp([6, 8, 3])
    delta = _np_mlp(mlp, feats)
    # per-cell MLP: channels 1: become the MLP's output; channel 0 is a fixed input
    out = np.asarray(MLPUpdate(mlp, first_channel=1)(jnp.asarray(x), jnp.asarray(feats)))
    np.testing.assert_allclose(out[..., 1:], delta, atol=1e-5)
    np.testing.assert_array_equal(out[..., 0], x[..., 0])
    # residual: added
    out = np.asarray(ResidualUpdate(mlp, first_channel=1)(jnp.asarray(x), jnp.asarray(feats)))
    np.testing.assert_allclose(out[..., 1:], x[..., 1:] + delta, atol=1e-5)
    # NCA update, no key: every cell fires; alive = own channel 0 above 0.2 before and after
    alive = AliveMask(0, 0.2, neighbourhood=False)
    out = np.asarray(NCAUpdate(mlp, fire_rate=0.5, alive=alive, first_channel=1)(jnp.asarray(x), jnp.asarray(feats)))
    keep = (x[..., :1] > 0.2)
    np.testing.assert_allclose(out[..., 1:], (x[..., 1:] + delta) * keep, atol=1e-5)
    np.testing.assert_array_equal(out[..., 0], x[..., 0])


def test_nca_update_fire_rate_and_neighbourhood_alive_mask():
    x = np.zeros((30, 30, 4), np.float32)
    x[10:20, 10:20, 3] = 1.0  # a mature square; everything else immature
    x[..., :3] = 0.05
    mlp = CellMLP([4, 4], key=KEY)
    mlp = eqx.tree_at(lambda m: m.biases[-1], mlp, jnp.ones(4))  # delta = 1 everywhere
    up = NCAUpdate(mlp, fire_rate=0.25, alive=AliveMask(3, 0.1, neighbourhood=True, boundary="zero"))
    out = np.asarray(up(jnp.asarray(x), jnp.asarray(x), key=jax.random.PRNGKey(3)))
    near = np.zeros((30, 30), bool)
    near[9:21, 9:21] = True  # the square dilated by one cell (Moore)
    assert (out[~near] == 0).all()  # dead cells are zeroed
    fired = (out[near][:, 0] != x[near][:, 0])
    assert 0.15 < fired.mean() < 0.35  # each cell fires with probability 1/4
    np.testing.assert_allclose(out[near][fired][:, 0], 1.05, atol=1e-6)


def test_with_input_broadcasts_a_vector_and_takes_a_grid():
    f = jnp.zeros((5, 4, 2))
    assert with_input(f, None) is f
    np.testing.assert_array_equal(with_input(f, jnp.array([7.0]))[..., 2], 7.0)
    assert with_input(f, jnp.ones((5, 4, 3))).shape == (5, 4, 5)
    with pytest.raises(StateError, match="input"):
        with_input(f, jnp.ones((3, 3, 1)))


def test_update_config_errors():
    mlp = CellMLP([4, 4], key=KEY)
    with pytest.raises(ConfigError, match="fire_rate"):
        NCAUpdate(mlp, fire_rate=0.0)
    with pytest.raises(ConfigError, match="first_channel"):
        ResidualUpdate(mlp, first_channel=-1)
    with pytest.raises(ConfigError, match="alive_threshold"):
        AliveMask(3, float("nan"))
    with pytest.raises(ConfigError, match="key"):
        CellMLP([4, 4], key=None)
    with pytest.raises(TypeError):
        AbstractUpdate()


# ---------------------------------------------------------------- the abstract NCA
class TinyNCA(AbstractNCA):
    """A 3-D conditional NCA built from the core modules (as a user would)."""

    perceive: KernelPerceive
    update: NCAUpdate
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    def __init__(self, *, key):
        self.num_spatial_dims, self.num_channels = 3, 4
        self.perceive = KernelPerceive(("identity", "laplacian"), num_spatial_dims=3, num_channels=4)
        self.update = NCAUpdate(_random_mlp([self.perceive.num_features + 1, 16, 4]), fire_rate=0.5)
        del key

    def config(self):
        return {}

    def init_state(self, size=None, *, key=None, batch_size=None):
        shape = self.spatial_shape(size, 6)
        return batch_states(lambda k: jnp.full(shape + (4,), 0.1), batch_size, key)

    def render(self, state):
        return np.zeros((1, 1, 3), np.uint8)


def test_abstract_nca_composes_perceive_and_update_in_3d():
    m = TinyNCA(key=KEY)
    s = m.init_state()
    label = jnp.array([1.0])
    step = m.step(s, label, key=KEY)
    np.testing.assert_array_equal(step, m.update(s, m.perceive(s), label, key=KEY))
    b = m.init_state(batch_size=2)
    out = m.rollout(b, 4, input=label, key=KEY)
    assert out.shape == (2, 6, 6, 6, 4)
    # key=None: deterministic (every cell fires), the same twice
    np.testing.assert_array_equal(m.rollout(s, 3, input=label), m.rollout(s, 3, input=label))
    # the input matters: another label, another state
    assert not np.allclose(m.rollout(s, 3, input=label), m.rollout(s, 3, input=jnp.array([-1.0])))
    with pytest.raises(TypeError):
        AbstractNCA()
    with pytest.raises(StateError, match="features per cell"):
        m.step(s)  # the update was sized for a 1-value input


# ---------------------------------------------------------------- rollout: input and observe
@pytest.fixture(scope="module")
def deterministic():
    return TinyNCA(key=KEY)


@pytest.mark.parametrize("num_steps,every", [(7, 3), (2, 5)])
def test_per_step_input_is_a_schedule(deterministic, num_steps, every):
    m = deterministic
    s = m.init_state(4)
    schedule = jnp.linspace(-1.0, 1.0, num_steps)[:, None]
    manual = s
    for t in range(num_steps):
        manual = m.step(manual, schedule[t])
    final, traj = m.rollout(s, num_steps, input=schedule, input_per_step=True, every=every, trajectory=True)
    np.testing.assert_allclose(final, manual, rtol=1e-5, atol=1e-6)
    assert traj.shape[0] == num_steps // every + 1
    # batched: a schedule per batch element (batch, steps, ...) or one shared (steps, ...)
    batch = jnp.stack([s, s * 2])
    per = jnp.stack([schedule, -schedule])
    out = m.rollout(batch, num_steps, input=per, input_per_step=True)
    np.testing.assert_allclose(out[0], manual, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1], m.rollout(s * 2, num_steps, input=-schedule, input_per_step=True), rtol=1e-5, atol=1e-6)
    shared = m.rollout(batch, num_steps, input=schedule, input_per_step=True)
    np.testing.assert_allclose(shared[0], manual, rtol=1e-5, atol=1e-6)


def test_per_step_input_needs_the_step_axis(deterministic):
    s = deterministic.init_state(4)
    with pytest.raises(StateError, match="per-step input"):
        deterministic.rollout(s, 5, input=jnp.zeros((4, 1)), input_per_step=True)
    with pytest.raises(StateError, match="num_steps"):
        deterministic.rollout(s, 5, input_per_step=True)
    with pytest.raises(StateError, match="input_per_step"):
        deterministic.rollout(s, 5, input_per_step=1)


def test_observe_collects_a_metric_every_few_steps(deterministic):
    m = deterministic
    s = m.init_state(4)
    label = jnp.array([0.5])
    mass = lambda x: jnp.sum(x[..., 0])
    final, obs = m.rollout(s, 7, input=label, every=3, observe=mass)
    assert obs.shape == (3,)
    for i in range(3):
        np.testing.assert_allclose(obs[i], mass(m.rollout(s, 3 * i, input=label)), rtol=1e-5)
    final2, traj, obs2 = m.rollout(s, 7, input=label, every=3, observe=mass, trajectory=True)
    np.testing.assert_array_equal(obs2, obs)
    np.testing.assert_allclose(jax.vmap(mass)(traj), obs, rtol=1e-6)
    # batched: one row of observations per element
    _, ob = m.rollout(jnp.stack([s, 2 * s]), 7, input=label, every=3, observe=mass)
    assert ob.shape == (2, 3)
    with pytest.raises(StateError, match="observe"):
        m.rollout(s, 3, observe="mass")
