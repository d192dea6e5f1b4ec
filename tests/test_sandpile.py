"""The abelian sandpile: conservation, the abelian property, symmetry, recurrent
configurations (Dhar 1990) and the group identity, in 1, 2 and 3 dimensions."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cax_zoo
from cax_zoo import ConfigError, StateError
from cax_zoo._families._sandpile import Sandpile

FAST = settings(max_examples=15, deadline=None)


def grains(state):
    return np.asarray(state)[..., 0]


def random_pile(key, shape, high):
    return jax.random.randint(jax.random.PRNGKey(key), tuple(shape) + (1,), 0, high).astype(jnp.int32)


def sink_edges(shape):
    """beta(v): how many of v's 2d neighbours lie outside the grid (edges to the sink)."""
    beta = np.zeros(shape, np.int32)
    for axis, n in enumerate(shape):
        for i in sorted({0, n - 1}):
            idx = [slice(None)] * len(shape)
            idx[axis] = i
            beta[tuple(idx)] += 1 if n > 1 else 2
    return beta


@FAST
@given(st.integers(0, 2**31 - 1), st.integers(1, 3))
def test_periodic_boundary_conserves_mass_exactly(seed, d):
    pile = Sandpile(boundary="periodic", num_spatial_dims=d)
    s = random_pile(seed, (6,) * d, 4 * d)
    assert int(grains(pile.rollout(s, 25)).sum()) == int(grains(s).sum())


@FAST
@given(st.integers(0, 2**31 - 1), st.integers(1, 3))
def test_zero_boundary_loses_exactly_the_grains_that_leave(seed, d):
    pile = Sandpile(num_spatial_dims=d)
    s = random_pile(seed, (5,) * d, 4 * d)
    topple = grains(s) >= 2 * d
    lost = int((topple * sink_edges((5,) * d)).sum())
    assert int(grains(s).sum()) - int(grains(pile.rollout(s, 1)).sum()) == lost


@FAST
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.data())
def test_abelian_property(seed, d, data):
    # Adding grains at two sites, stabilising after each, gives the same pile in either order.
    pile = Sandpile(num_spatial_dims=d)
    shape = (7,) * d
    s = pile.stabilise(random_pile(seed, shape, 2 * d))
    a, b = (tuple(data.draw(st.integers(0, 6)) for _ in range(d)) + (0,) for _ in range(2))
    n_a, n_b = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 30))
    ab = pile.stabilise(pile.stabilise(s.at[a].add(n_a)).at[b].add(n_b))
    ba = pile.stabilise(pile.stabilise(s.at[b].add(n_b)).at[a].add(n_a))
    both = pile.stabilise(s.at[a].add(n_a).at[b].add(n_b))
    assert np.array_equal(ab, ba) and np.array_equal(ab, both)


def test_central_pile_in_2d_is_stable_conserved_and_dihedrally_symmetric():
    pile = Sandpile()
    final = grains(pile.stabilise(pile.init_state(81, grains=2**12)))
    assert final.sum() == 2**12  # the grid is large enough that nothing fell off
    assert final.max() <= 3 and pile.is_stable(final)
    for k in range(4):  # the 8 symmetries of the square
        r = np.rot90(final, k)
        assert np.array_equal(r, final) and np.array_equal(r.T, final)


def test_central_pile_in_3d_has_the_48_symmetries_of_the_cube():
    pile = Sandpile(num_spatial_dims=3)
    final = grains(pile.stabilise(pile.init_state(21, grains=2**10)))
    assert final.sum() == 2**10 and final.max() <= 5
    for perm in itertools.permutations(range(3)):
        for flips in itertools.product((False, True), repeat=3):
            t = np.transpose(final, perm)
            t = t[tuple(slice(None, None, -1) if f else slice(None) for f in flips)]
            assert np.array_equal(t, final)


def test_central_pile_in_1d():
    pile = Sandpile(num_spatial_dims=1)
    for n in (16, 17, 40):
        final = grains(pile.stabilise(pile.init_state(101, grains=n)))
        assert final.sum() == n and final.max() <= 1
        assert np.array_equal(final, final[::-1])


@pytest.mark.parametrize("shape, trees", [((6,), 7), ((2, 2), 192), ((3, 3), 100352)])
def test_recurrent_configurations_are_counted_by_the_matrix_tree_theorem(shape, trees):
    # Dhar: the recurrent piles are as many as the spanning trees of the grid plus sink,
    # det(reduced Laplacian); c is recurrent iff adding beta (edges to the sink) and
    # stabilising gives c back (burning test).
    d = len(shape)
    pile = Sandpile(num_spatial_dims=d)
    n = int(np.prod(shape))
    digits = np.array(list(itertools.product(range(2 * d), repeat=n)), np.int32)
    piles = digits.reshape((-1,) + shape + (1,))
    beta = sink_edges(shape)[..., None]
    burnt = np.asarray(pile.stabilise(jnp.asarray(piles + beta)))
    recurrent = np.all(burnt == piles, axis=tuple(range(1, d + 2)))
    laplacian_det = round(np.linalg.det(np.diag(np.full(n, 2 * d)) - adjacency(shape)))
    assert recurrent.sum() == trees == laplacian_det


def adjacency(shape):
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    a = np.zeros((idx.size, idx.size))
    for axis in range(len(shape)):
        lo = np.take(idx, range(shape[axis] - 1), axis=axis).ravel()
        hi = np.take(idx, range(1, shape[axis]), axis=axis).ravel()
        a[lo, hi] = a[hi, lo] = 1
    return a


def test_identity_of_the_sandpile_group():
    # e = (2 c_max - (2 c_max)°)° is the identity of the group of recurrent piles:
    # e + e = e, c_max + e = c_max, and on a square it has the symmetries of the square.
    pile = Sandpile()
    n = 16
    six = jnp.full((n, n, 1), 6, jnp.int32)
    e = pile.stabilise(six - pile.stabilise(six))
    c_max = jnp.full((n, n, 1), 3, jnp.int32)
    assert np.array_equal(pile.stabilise(e + e), e)
    assert np.array_equal(pile.stabilise(c_max + e), c_max)
    g = grains(e)
    assert np.array_equal(g, g.T) and np.array_equal(g, g[::-1]) and g.max() <= 3
    assert not np.array_equal(g, np.zeros_like(g))  # the identity is not the empty pile


def test_one_step_topples_every_unstable_cell_once():
    pile = Sandpile()
    s = jnp.zeros((5, 5, 1), jnp.int32).at[2, 2, 0].set(9)
    out = grains(pile.rollout(s, 1))
    assert out[2, 2] == 5 and out[1, 2] == out[3, 2] == out[2, 1] == out[2, 3] == 1
    assert grains(pile.rollout(s, 2))[2, 2] == 1


def test_torus_with_too_many_grains_never_stabilises():
    pile = Sandpile(boundary="periodic")
    s = jnp.full((4, 4, 1), 3, jnp.int32).at[0, 0, 0].add(1)  # 3 * 16 + 1 grains
    out = pile.stabilise(s, max_steps=500)
    assert not pile.is_stable(out) and int(grains(out).sum()) == 49


def test_batches_stabilise_each_pile():
    pile = Sandpile()
    piles = jnp.stack([pile.init_state(33, grains=g) for g in (100, 700)])
    out = pile.stabilise(piles)
    for i, g in enumerate((100, 700)):
        assert np.array_equal(out[i], pile.stabilise(pile.init_state(33, grains=g)))


def test_bad_arguments_raise():
    with pytest.raises(ConfigError):
        Sandpile(boundary="reflect")
    with pytest.raises(ConfigError):
        Sandpile(num_spatial_dims=0)
    pile = Sandpile()
    with pytest.raises(StateError, match="negative"):
        pile.rollout(jnp.full((4, 4, 1), -1, jnp.int32), 1)
    with pytest.raises(StateError):
        pile.stabilise(jnp.zeros((4, 4), jnp.int32))
    with pytest.raises(StateError):
        pile.stabilise(jnp.zeros((4, 4, 1), jnp.int32), max_steps=-1)
    with pytest.raises(StateError):
        pile.init_state(8, grains=-5)


def test_render_and_config():
    pile = cax_zoo.create("sandpile")
    img = pile.render(pile.stabilise(pile.init_state(32, grains=300)))
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert len({tuple(c) for c in img.reshape(-1, 3).tolist()}) == 4
    assert cax_zoo.create("sandpile", **pile.config()) == pile
