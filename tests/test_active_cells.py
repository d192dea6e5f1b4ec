"""The active-cell NCA step (MLP only on the cells that can change the result) against the
dense step it replaces: the same states and gradients, to float rounding (the MLP's rows
are computed in another order; XLA may fuse the additions differently)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, GrowingNCA
from cax_zoo.nca import NCAUpdate, active_cell_steps, update_draws
from cax_zoo.training import rollout_up_to


def _model(boundary="zero", residual_noise=0.0):
    """A growing NCA with a random (non-zero) last layer, so every cell's MLP matters."""
    model = GrowingNCA(hidden_units=32, size=24, boundary=boundary, key=jax.random.PRNGKey(0))
    model = jax.tree_util.tree_map(
        lambda x: x + 0.1 * jax.random.normal(jax.random.PRNGKey(1), x.shape) if eqx.is_inexact_array(x) else x,
        model)
    if residual_noise:
        u = model.update
        model = eqx.tree_at(lambda m: m.update, model,
                            NCAUpdate(u.mlp, fire_rate=u.fire_rate, alive=u.alive, residual_noise=residual_noise))
    return model


def _states(model, n=4):
    """Seeds grown a few steps, one with a blob at the border (the boundary matters)."""
    s = model.init_state(batch_size=n)
    s = s.at[1, 0:3, 5:9, 3:].set(0.5)
    s = s.at[2, 10:14, 20:24, 3:].set(0.7)
    for t in range(6):
        s = jax.vmap(lambda x, k: model.step(x, key=k))(s, jax.random.split(jax.random.PRNGKey(10 + t), n))
    return s


def _dense(model, states, keys):
    if keys is None:
        return jax.vmap(model.step)(states)
    return jax.vmap(lambda x, k: model.step(x, key=k))(states, keys)


@pytest.mark.parametrize("boundary", ["zero", "periodic"])
@pytest.mark.parametrize("residual_noise", [0.0, 0.05])
def test_active_cell_steps_equal_the_dense_step(boundary, residual_noise):
    model = _model(boundary, residual_noise)
    states = _states(model)
    keys = jax.random.split(jax.random.PRNGKey(3), states.shape[0])
    dense = _dense(model, states, keys)
    for capacity in (0.5, 1e-4):  # the second cannot hold the active cells: the step runs every cell
        got = eqx.filter_jit(active_cell_steps)(model, states, keys, capacity=capacity)
        np.testing.assert_allclose(np.asarray(got), np.asarray(dense), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(active_cell_steps(model, states, None, capacity=0.5)),
                               np.asarray(_dense(model, states, None)), rtol=1e-6, atol=1e-6)
    # the test is not vacuous: the grids hold live and dead cells, and the rule moves them
    alive = np.asarray(jax.vmap(model.update.alive)(states))
    assert 0.02 < alive.mean() < 0.8
    assert float(jnp.max(jnp.abs(dense - states))) > 0.01


def test_active_cells_give_the_dense_gradients_through_a_rollout():
    model = _model()
    states = _states(model)
    key = jax.random.PRNGKey(4)

    def loss(m, active):
        final = rollout_up_to(m, states, jnp.int32(5), 7, key, active_cells=active)
        return jnp.mean((final[..., :4] - 0.3) ** 2)

    for active in (0.5, 1e-4):  # the second: every step runs every cell
        np.testing.assert_allclose(
            np.asarray(rollout_up_to(model, states, jnp.int32(5), 7, key, active_cells=active)),
            np.asarray(rollout_up_to(model, states, jnp.int32(5), 7, key)), rtol=1e-5, atol=1e-6)
        dense = eqx.filter_jit(eqx.filter_grad(lambda m: loss(m, 0.0)))(model)
        got = eqx.filter_jit(eqx.filter_grad(lambda m: loss(m, active)))(model)
        for a, b in zip(jax.tree_util.tree_leaves(dense), jax.tree_util.tree_leaves(got)):
            assert float(jnp.max(jnp.abs(a))) > 0
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6 * float(jnp.max(jnp.abs(a))))


def test_update_draws_are_the_stochastic_updates_draws():
    key = jax.random.PRNGKey(5)
    state, delta = jnp.zeros((6, 6, 3)), jnp.ones((6, 6, 3))
    for noise in (0.0, 0.1):
        fire, eps = update_draws(key, (6, 6), 3, 0.5, noise)
        expected = delta if eps is None else delta + eps
        np.testing.assert_array_equal(
            np.asarray(cax_zoo.stochastic_update(state, delta, 0.5, key, residual_noise=noise)),
            np.asarray(expected * fire))
    assert update_draws(key, (6, 6), 3, 1.0) == (None, None)


def test_active_cells_refuse_models_without_a_neighbourhood_alive_mask():
    model = cax_zoo.load("mnist_self_classify")
    with pytest.raises(ConfigError, match="NCAUpdate with a neighbourhood AliveMask"):
        active_cell_steps(model, jnp.zeros((1, 28, 28, model.num_channels)), None, capacity=0.5)
    with pytest.raises(ConfigError, match="NCAUpdate with a neighbourhood AliveMask"):
        rollout_up_to(model, jnp.zeros((1, 28, 28, model.num_channels)), 2, 2, jax.random.PRNGKey(0),
                      active_cells=0.5)
    with pytest.raises(ConfigError, match="capacity"):
        active_cell_steps(_model(), jnp.zeros((1, 24, 24, 16)), None, capacity=0.0)
    with pytest.raises(ConfigError, match="active_cells"):
        rollout_up_to(_model(), jnp.zeros((1, 24, 24, 16)), 2, 2, jax.random.PRNGKey(0), active_cells=1.5)


def test_growing_recipe_trains_on_active_cells_and_may_resume_without(tmp_path, capsys):
    from recipes import growing_nca

    assert growing_nca.FULL["active_cells"] == 0.15
    out = tmp_path / "run"
    assert growing_nca.main(["--smoke", "--no-progress", "--stop-after", "2", "--out", str(out)]) == 0
    # how the run executes may change on --resume; a value out of range is a one-line error
    assert growing_nca.main(["--smoke", "--no-progress", "--resume", "--config", "active_cells=2",
                             "--out", str(out)]) == 2
    assert "active_cells" in capsys.readouterr().err
    assert growing_nca.main(["--smoke", "--no-progress", "--resume", "--config", "active_cells=0",
                             "--out", str(out)]) == 0
    assert (out / "growing_nca" / "lizard" / "model.safetensors").exists()
