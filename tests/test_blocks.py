"""Perception and update blocks: neighbourhoods, kernels, convolutions, boundaries."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cax_zoo
from cax_zoo import ConfigError
from cax_zoo.blocks import depthwise_conv, kernel_stack
from cax_zoo._blocks._nca import CellMLP, alive_mask


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("r", [1, 2])
def test_neighbourhood_sizes(d, r):
    moore = cax_zoo.neighbourhood_offsets("moore", r, d)
    assert len(moore) == (2 * r + 1) ** d - 1
    vn = cax_zoo.neighbourhood_offsets("von_neumann", r, d)
    # |{x in Z^d : |x|_1 <= r}| - 1 (Delannoy-type count); r=1 gives the 2d face neighbours
    expected = sum(1 for o in np.ndindex(*(2 * r + 1,) * d) if sum(abs(v - r) for v in o) <= r) - 1
    assert len(vn) == expected
    if r == 1:
        assert len(vn) == 2 * d


def test_unknown_neighbourhood():
    with pytest.raises(ConfigError, match="hexagonal"):
        cax_zoo.neighbourhood_offsets("hexagonal", 1, 2)


@pytest.mark.parametrize("boundary", ["periodic", "zero", "reflect", "edge"])
def test_neighbour_sum_matches_numpy_pad(boundary):
    x = np.random.default_rng(0).integers(0, 2, (7, 9)).astype(np.int32)
    mode = {"periodic": "wrap", "zero": "constant", "reflect": "reflect", "edge": "edge"}[boundary]
    p = np.pad(x, 1, mode=mode)
    expected = sum(p[1 + di : 8 + di, 1 + dj : 10 + dj] for di in (-1, 0, 1) for dj in (-1, 0, 1)) - x
    got = cax_zoo.neighbour_sum(jnp.asarray(x), "moore", 1, boundary, num_spatial_dims=2)
    np.testing.assert_array_equal(got, expected)


def test_unknown_boundary():
    with pytest.raises(ConfigError, match="mirror"):
        cax_zoo.pad(jnp.zeros((3, 3, 1)), 1, "mirror", num_spatial_dims=2)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_sobel_measures_gradient_of_ramp(d):
    shape = (12,) * d
    for axis in range(d):
        ramp = jnp.asarray(np.indices(shape)[axis], jnp.float32)[..., None]
        kernels = jnp.asarray(cax_zoo.sobel_kernels(d))
        y = cax_zoo.depthwise_conv(ramp, kernels, "edge")
        interior = (slice(1, -1),) * d
        for k in range(d):
            np.testing.assert_allclose(y[interior + (k,)], 1.0 if k == axis else 0.0, atol=1e-5)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_laplacian_of_quadratic_is_constant(d):
    shape = (10,) * d
    coords = np.indices(shape).astype(np.float32)
    f = jnp.asarray((coords**2).sum(0))[..., None]  # laplacian = 2d
    y = cax_zoo.depthwise_conv(f, jnp.asarray(cax_zoo.laplacian_kernel(d))[None], "edge")
    interior = (slice(1, -1),) * d
    np.testing.assert_allclose(y[interior + (0,)], 2.0 * d, rtol=1e-5)
    assert abs(cax_zoo.laplacian_kernel(d).sum()) < 1e-6


def test_classic_2d_laplacian():
    np.testing.assert_allclose(cax_zoo.laplacian_kernel(2), np.array([[1, 2, 1], [2, -12, 2], [1, 2, 1]]) / 4)


def test_depthwise_conv_keeps_channels_apart():
    x = jnp.zeros((8, 8, 2)).at[4, 4, 0].set(1.0)
    k = jnp.asarray(cax_zoo.kernel_stack(["identity", "sobel"], 2))
    y = cax_zoo.depthwise_conv(x, k)
    assert y.shape == (8, 8, 6)
    assert float(jnp.abs(y[..., 3:]).sum()) == 0.0  # channel 1 is empty
    np.testing.assert_array_equal(y[..., 0], x[..., 0])


@settings(max_examples=15, deadline=None)
@given(st.integers(4, 12), st.integers(4, 12), st.integers(0, 100))
def test_fft_convolution_equals_direct_periodic(h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, w, 1)).astype(np.float32)
    k3 = rng.normal(size=(3, 3)).astype(np.float32)
    direct = cax_zoo.depthwise_conv(jnp.asarray(x), jnp.asarray(k3)[None], "periodic")
    # the same kernel laid out centred in a grid-sized array (convolution = correlation flipped)
    big = np.zeros((h, w, 1), np.float32)
    big[h // 2 - 1 : h // 2 + 2, w // 2 - 1 : w // 2 + 2, 0] = k3[::-1, ::-1]
    kf = cax_zoo.centred_kernel_fft(jnp.asarray(big), 2)
    via_fft = cax_zoo.fft_convolve(jnp.asarray(x), kf, 2)
    np.testing.assert_allclose(via_fft, direct, atol=1e-4)


def test_cell_mlp_starts_as_zero_update():
    mlp = CellMLP([48, 128, 16], key=jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 5, 48))
    assert float(jnp.abs(mlp(x)).max()) == 0.0
    with pytest.raises(ConfigError):
        CellMLP([16], key=jax.random.PRNGKey(0))


def test_alive_mask_is_dilated_threshold():
    s = jnp.zeros((9, 9, 4)).at[4, 4, 3].set(0.5)
    m = alive_mask(s, 3, 0.1, "zero", num_spatial_dims=2)
    assert m.shape == (9, 9, 1) and int(m.sum()) == 9


def test_stochastic_update_fire_rate():
    s = jnp.zeros((64, 64, 1))
    out = cax_zoo.stochastic_update(s, jnp.ones_like(s), 0.5, jax.random.PRNGKey(0))
    assert 0.45 < float(out.mean()) < 0.55
    np.testing.assert_array_equal(cax_zoo.stochastic_update(s, jnp.ones_like(s), 0.5, None), 1.0)


def test_lookup_table_pattern_index():
    x = jnp.asarray([0, 1, 1, 0, 1], jnp.int32)
    offsets = cax_zoo.neighbourhood_offsets("moore", 1, 1, include_centre=True)
    idx = cax_zoo.pattern_index(x, offsets, 2, "zero", num_spatial_dims=1)
    np.testing.assert_array_equal(idx, [0b001, 0b011, 0b110, 0b101, 0b010])
    table = jnp.arange(8) * 10
    np.testing.assert_array_equal(cax_zoo.apply_table(table, idx), [10, 30, 60, 50, 20])


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("boundary", ["zero", "periodic", "reflect"])
def test_fixed_depthwise_conv_equals_the_grouped_convolution(dims, boundary):
    """The shifted-sum form used for fixed kernels gives the grouped convolution's output:
    the named kernels, and random ones with zero taps."""
    from cax_zoo.blocks import fixed_depthwise_conv

    rng = np.random.default_rng(dims)
    x = jnp.asarray(rng.normal(size=(7, 6, 5)[:dims] + (3,)), jnp.float32)
    named = kernel_stack(("identity", "sobel", "laplacian"), dims)
    random = rng.normal(size=(2,) + (3,) * dims).astype(np.float32) * (rng.random((2,) + (3,) * dims) > 0.4)
    for kernels in (named, random, np.zeros((1,) + (3,) * dims, np.float32)):
        np.testing.assert_allclose(fixed_depthwise_conv(x, kernels, boundary),
                                   depthwise_conv(x, jnp.asarray(kernels), boundary), rtol=1e-5, atol=1e-5)
