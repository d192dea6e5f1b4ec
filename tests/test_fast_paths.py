"""The bit-packed fast paths of Life and Elementary rollouts equal the reference ``step``."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cax_zoo._blocks import _bitpack
from cax_zoo._families._elementary import Elementary
from cax_zoo._families._life import Life

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@eqx.filter_jit
def reference_rollout(model, state, num_steps):
    """``num_steps`` applications of ``model.step`` (vmapped over a leading batch axis)."""
    step = model.step
    if state.ndim == model.num_spatial_dims + 2:
        step = jax.vmap(model.step)
    return jax.lax.fori_loop(0, num_steps, lambda _, s: step(s), state)


def counts(draw_set):
    return draw_set.map(lambda s: tuple(sorted(s)))


@SETTINGS
@given(
    birth=counts(st.sets(st.integers(0, 8))),
    survive=counts(st.sets(st.integers(0, 8))),
    height=st.integers(1, 40),
    width=st.integers(1, 100),
    boundary=st.sampled_from(["periodic", "zero"]),
    batch=st.sampled_from([None, 3]),
    num_steps=st.integers(0, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_life_packed_equals_reference(birth, survive, height, width, boundary, batch, num_steps, seed):
    rule = f"B{''.join(map(str, birth))}/S{''.join(map(str, survive))}"
    model = Life(rule, boundary=boundary)
    shape = (height, width, 1) if batch is None else (batch, height, width, 1)
    state = jnp.asarray(np.random.default_rng(seed).integers(0, 2, shape), jnp.uint8)
    fast = model.rollout(state, num_steps)
    ref = reference_rollout(model, state, num_steps)
    assert fast.dtype == ref.dtype and fast.shape == ref.shape
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(ref))


@SETTINGS
@given(
    radius=st.integers(1, 3),
    totalistic=st.booleans(),
    rule_bits=st.integers(0, 2**128 - 1),
    width=st.integers(1, 130),
    boundary=st.sampled_from(["periodic", "zero"]),
    batch=st.sampled_from([None, 2]),
    num_steps=st.integers(0, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_elementary_packed_equals_reference(radius, totalistic, rule_bits, width, boundary, batch, num_steps, seed):
    size = 2 * radius + 2 if totalistic else 2 ** (2 * radius + 1)
    model = Elementary(rule_bits % (2**size), radius=radius, totalistic=totalistic, boundary=boundary)
    shape = (width, 1) if batch is None else (batch, width, 1)
    state = jnp.asarray(np.random.default_rng(seed).integers(0, 2, shape), jnp.uint8)
    fast = model.rollout(state, num_steps)
    ref = reference_rollout(model, state, num_steps)
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(ref))


@pytest.mark.parametrize("every", [1, 3])
def test_trajectory_samples_equal_reference(every):
    model = Life("B36/S23", boundary="periodic")
    state = model.init_state((20, 45), key=jax.random.PRNGKey(1))
    final, traj = model.rollout(state, 7, every=every, trajectory=True)
    for i in range(traj.shape[0]):
        np.testing.assert_array_equal(np.asarray(traj[i]), np.asarray(reference_rollout(model, state, i * every)))
    np.testing.assert_array_equal(np.asarray(final), np.asarray(reference_rollout(model, state, 7)))


def test_fast_path_is_used_where_promised():
    grid = jnp.zeros((8, 40, 1), jnp.uint8)
    assert isinstance(Life().encode_state(grid), _bitpack.PackedGrid)
    assert isinstance(Life(boundary="zero").encode_state(grid), _bitpack.PackedGrid)
    assert not isinstance(Life(boundary="reflect").encode_state(grid), _bitpack.PackedGrid)
    assert not isinstance(Life(num_spatial_dims=3).encode_state(jnp.zeros((4, 4, 4, 1), jnp.uint8)), _bitpack.PackedGrid)
    row = jnp.zeros((40, 1), jnp.uint8)
    assert isinstance(Elementary(30).encode_state(row), _bitpack.PackedGrid)
    assert isinstance(Elementary(6, radius=5, totalistic=True).encode_state(row), _bitpack.PackedGrid)
    assert not isinstance(Elementary(30, num_colours=3).encode_state(row), _bitpack.PackedGrid)


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(0)
    for width in (1, 31, 32, 33, 64, 100):
        cells = rng.integers(0, 2, (3, width)).astype(np.uint8)
        words = _bitpack.pack(jnp.asarray(cells))
        assert words.shape == (3, -(-width // 32)) and words.dtype == jnp.uint32
        np.testing.assert_array_equal(np.asarray(_bitpack.unpack(words, width)), cells)
    # bit j of word k is cell 32k + j
    cells = np.zeros(64, np.uint8)
    cells[[0, 33]] = 1
    np.testing.assert_array_equal(np.asarray(_bitpack.pack(jnp.asarray(cells))), [1, 2])


def test_rule_30_centre_column_is_wolframs_sequence():
    # Wolfram (2002), A New Kind of Science p. 30: centre column of rule 30 from one cell,
    # OEIS A051023: 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1
    model = Elementary(30)
    _, traj = model.rollout(model.init_state(101), 19, trajectory=True)
    centre = np.asarray(traj)[:, 50, 0].tolist()
    assert centre == [1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1]


def test_glider_crosses_a_torus_whose_width_is_not_a_word_multiple():
    # a glider moves one cell diagonally every 4 generations (Gardner 1970), so on a 37x37
    # torus it is back where it started, translated by (37, 37) = (0, 0), after 4 * 37 steps
    model = Life()
    state = np.zeros((37, 37, 1), np.uint8)
    for r, c in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]:
        state[r + 30, c + 30, 0] = 1
    out = model.rollout(jnp.asarray(state), 4 * 37)
    np.testing.assert_array_equal(np.asarray(out), state)
    assert int(np.asarray(model.rollout(jnp.asarray(state), 4)).sum()) == 5


@pytest.mark.parametrize("boundary", ["periodic", "zero"])
@pytest.mark.parametrize("shape", [(1, 512), (3, 640), (2, 4, 544), (19, 96), (5, 200)])
def test_life_packed_wide_and_narrow_rows_equal_reference(shape, boundary):
    # rows of >= 16 words take the haloed path (544 cells: a partial last word, on a torus
    # the shift path), narrower rows the shift path; with and without a batch axis, over
    # enough steps for signals to cross the seams
    rule = "B36/S23" if len(shape) == 2 else "B3/S23"
    model = Life(rule, boundary=boundary)
    state = jnp.asarray(np.random.default_rng(sum(shape)).integers(0, 2, shape + (1,)), jnp.uint8)
    fast = model.rollout(state, 40)
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(reference_rollout(model, state, 40)))
