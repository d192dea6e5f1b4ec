"""The automaton base: rollouts, trajectories, batching, jit, grad, validation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import StateError


@pytest.fixture(scope="module")
def rule90():
    return cax_zoo.load("elementary", rule=90)


def test_rollout_equals_repeated_steps(rule90):
    s = rule90.init_state(33, key=jax.random.PRNGKey(1))
    manual = s
    for _ in range(7):
        manual = rule90.step(manual)
    np.testing.assert_array_equal(rule90.rollout(s, 7), manual)


@pytest.mark.parametrize("num_steps,every", [(12, 1), (12, 4), (13, 4), (3, 5), (0, 1)])
def test_trajectory_sampling(rule90, num_steps, every):
    s = rule90.init_state(41)
    final, traj = rule90.rollout(s, num_steps, every=every, trajectory=True)
    assert traj.shape == (num_steps // every + 1, 41, 1)
    np.testing.assert_array_equal(traj[0], s)
    for i in range(1, traj.shape[0]):
        np.testing.assert_array_equal(traj[i], rule90.rollout(s, i * every))
    np.testing.assert_array_equal(final, rule90.rollout(s, num_steps))


def test_batched_rollout_matches_unbatched(rule90):
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    batch = jnp.stack([rule90.init_state(20, key=k) for k in keys])
    out = rule90.rollout(batch, 9)
    assert out.shape == (3, 20, 1)
    for i in range(3):
        np.testing.assert_array_equal(out[i], rule90.rollout(batch[i], 9))


def test_call_is_one_step(rule90):
    s = rule90.init_state(21)
    np.testing.assert_array_equal(rule90(s), rule90.step(s))


def test_rollout_is_jitted_once(rule90):
    """A second call with same shapes must not retrace (the model is ready to run)."""
    from cax_zoo import _automaton

    s = rule90.init_state(64)
    rule90.rollout(s, 5)
    before = _automaton._rollout._cached._cache_size()  # type: ignore[attr-defined]
    rule90.rollout(s.at[3, 0].set(1), 5)
    assert _automaton._rollout._cached._cache_size() == before  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "state,match",
    [
        (jnp.zeros((10,), jnp.uint8), "shape"),
        (jnp.zeros((10, 2), jnp.uint8), "channel"),
        (jnp.zeros((2, 3, 10, 1), jnp.uint8), "shape"),
        (jnp.zeros((10, 1), jnp.float32), "dtype"),
        ("not an array", "array"),
    ],
)
def test_bad_states_raise_state_error(rule90, state, match):
    with pytest.raises(StateError, match=match):
        rule90.rollout(state, 1)


@pytest.mark.parametrize("steps", [-1, 2.5, True, "3"])
def test_bad_step_counts(rule90, steps):
    with pytest.raises(StateError, match="num_steps"):
        rule90.rollout(rule90.init_state(8), steps)


class _Decay(cax_zoo.AbstractGridAutomaton):
    """A tiny differentiable automaton: x <- x + rate * laplacian(x) (test only)."""

    rate: jax.Array
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(self, rate):
        self.rate = rate
        self.num_spatial_dims = 2
        self.num_channels = 1

    def step(self, state, input=None, *, key=None):
        lap = cax_zoo.depthwise_conv(state, jnp.asarray(cax_zoo.laplacian_kernel(2))[None])
        out = state + self.rate * lap
        return out if key is None else out + 0.0 * jax.random.normal(key, out.shape)

    def config(self):
        return {}

    def init_state(self, size=None, *, key=None):
        return jnp.zeros(self.spatial_shape(size, 8) + (1,)).at[4, 4, 0].set(1.0)

    def render(self, state):
        return np.zeros((1, 1, 3), np.uint8)


def test_rollout_is_differentiable():
    model = _Decay(jnp.asarray(0.1))
    s = model.init_state()

    def loss(m):
        return jnp.sum(m.rollout(s, 10, key=jax.random.PRNGKey(0))[..., 0] ** 2)

    g = eqx.filter_grad(loss)(model)
    assert np.isfinite(g.rate) and g.rate < 0  # diffusion spreads mass: lower sum of squares
    eps = 1e-3
    fd = (loss(_Decay(jnp.asarray(0.1 + eps))) - loss(_Decay(jnp.asarray(0.1 - eps)))) / (2 * eps)
    np.testing.assert_allclose(g.rate, fd, rtol=2e-2)


def test_keys_split_per_batch_element():
    """Batched stochastic rollouts get a different key per element."""
    from cax_zoo._blocks._nca import stochastic_update

    class _Noise(_Decay):
        def step(self, state, input=None, *, key=None):
            return stochastic_update(state, jnp.ones_like(state), 0.5, key)

    s = jnp.zeros((2, 8, 8, 1))
    out = _Noise(jnp.asarray(0.0)).rollout(s, 1, key=jax.random.PRNGKey(0))
    assert out.shape == s.shape
    assert not np.array_equal(out[0], out[1])
    assert 0 < float(out.mean()) < 1
