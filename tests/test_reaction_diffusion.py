"""Gray-Scott reaction-diffusion: presets form their documented patterns in 1-D, 2-D, 3-D."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, StateError
from cax_zoo._families._reaction_diffusion import PEARSON_DU, GrayScott, label_components, laplacian


def _spots(x, threshold=0.2):
    return label_components(np.asarray(x)[..., 1] > threshold)


# ------------------------------------------------------------------ labelling helper
def test_label_components_counts_blobs_and_wraps():
    m = np.zeros((10, 10), bool)
    m[1:3, 1:3] = True
    m[5, 5:8] = True
    m[8, 0] = m[8, 9] = True  # touch through the periodic edge
    labels, n = label_components(m)
    assert n == 3
    assert labels[8, 0] == labels[8, 9] != 0
    assert label_components(m, periodic=False)[1] == 4
    assert label_components(np.zeros((4, 4), bool))[1] == 0
    # diagonal contact is not a connection (face connectivity)
    d = np.eye(5, dtype=bool)
    assert label_components(d, periodic=False)[1] == 5


def test_label_components_long_snake_and_3d():
    m = np.zeros((21, 21), bool)
    m[::2, :] = True
    for r in range(1, 21, 2):
        m[r, 20 if r % 4 == 1 else 0] = True  # boustrophedon: one long snake
    assert label_components(m, periodic=False)[1] == 1
    c = np.zeros((6, 6, 6), bool)
    c[0, 0, 0] = c[5, 0, 0] = True  # neighbours through the wrap
    c[3, 3, 3] = True
    assert label_components(c)[1] == 2


# ------------------------------------------------------------------ the model
def test_registered_presets_and_parameters():
    for name, (F, k) in {"mitosis": (0.0367, 0.0649), "coral": (0.0545, 0.062)}.items():
        m = cax_zoo.create(f"reaction_diffusion/{name}")
        assert isinstance(m, GrayScott)
        assert (m.F, m.k) == (F, k)
    m = cax_zoo.create("reaction_diffusion/spots", num_spatial_dims=3)
    assert m.num_spatial_dims == 3 and m.dt == 0.5  # halved for stability in 3-D
    # Pearson's diffusion constants in grid units
    assert PEARSON_DU == pytest.approx(2e-5 / (2.5 / 256) ** 2)
    assert GrayScott().Dv == pytest.approx(PEARSON_DU / 2)
    rebuilt = cax_zoo.create("reaction_diffusion", **m.config())
    assert rebuilt.config() == m.config()


def test_bad_config_and_state():
    with pytest.raises(ConfigError, match="unstable"):
        GrayScott(dt=5.0)
    with pytest.raises(ConfigError, match="stencil"):
        GrayScott(stencil="nine")
    with pytest.raises(ConfigError, match="F must"):
        GrayScott(F=-0.1)
    with pytest.raises(ConfigError, match="boundary"):
        GrayScott(boundary="moebius")
    m = GrayScott()
    with pytest.raises(StateError, match="channel"):
        m.rollout(jnp.zeros((8, 8, 3)), 1)
    with pytest.raises(StateError, match="real-valued"):
        m.rollout(np.zeros((8, 8, 2), np.complex64), 1)


def test_homogeneous_state_is_fixed_and_diffusion_conserves_mass():
    m = GrayScott()
    rest = jnp.stack([jnp.ones((16, 16)), jnp.zeros((16, 16))], -1)
    np.testing.assert_allclose(m.rollout(rest, 50), rest, atol=1e-6)
    # with F = k = 0 and no v, u only diffuses: the total is conserved, peaks flatten
    for stencil in ("axial", "isotropic"):
        d = GrayScott(F=0.0, k=0.0, stencil=stencil, num_spatial_dims=2)
        x = jnp.zeros((16, 16, 2)).at[8, 8, 0].set(1.0)
        y = d.rollout(x, 20)
        assert float(y[..., 0].sum()) == pytest.approx(1.0, abs=1e-5)
        assert float(y[..., 0].max()) < 0.2


def test_stencils_are_second_derivatives():
    # lap(x0^2) = 2 in the interior for both stencils, in 1-D, 2-D and 3-D
    for d in (1, 2, 3):
        coords = jnp.indices((7,) * d).astype(jnp.float32)[0]
        x = (coords**2)[..., None]
        for stencil in ("axial", "isotropic"):
            lap = laplacian(x, stencil, "edge", d)
            inner = lap[(slice(2, -2),) * d]
            np.testing.assert_allclose(inner, 2.0, atol=1e-4)


def test_mitosis_spots_divide_2d():
    # Sims' mitosis: the seed becomes spots that keep splitting (Pearson's self-replicating spots)
    m = cax_zoo.create("reaction_diffusion/mitosis")
    s = m.init_state(128)
    _, traj = m.rollout(s, 6000, every=1500, trajectory=True)
    counts = [_spots(x)[1] for x in np.asarray(traj)]
    assert counts[0] == 1
    assert counts[-1] >= 8
    assert counts == sorted(counts)  # the number of spots only grows
    labels, n = _spots(traj[-1])
    assert np.bincount(labels.ravel())[1:].max() < 200  # they stay small, round spots


def test_coral_forms_a_connected_labyrinth_2d():
    m = cax_zoo.create("reaction_diffusion/coral")
    _, traj = m.rollout(m.init_state(128), 8000, every=4000, trajectory=True)
    labels, n = _spots(traj[-1])
    sizes = np.bincount(labels.ravel())[1:]
    frac = float((np.asarray(traj[-1])[..., 1] > 0.2).mean())
    assert frac > 0.4  # stripes fill the domain
    assert n <= 3 and sizes.max() > 0.9 * sizes.sum()  # one connected labyrinth, not spots


def test_spots_preset_gives_many_small_spots_2d():
    m = cax_zoo.create("reaction_diffusion/spots")
    f = m.rollout(m.init_state(128), 8000)
    labels, n = _spots(f)
    assert n >= 10
    assert np.bincount(labels.ravel())[1:].max() < 200


def test_pulses_self_replicate_in_1d():
    # 1-D Gray-Scott pulses split (Reynolds, Pearson & Ponce-Dawson 1994): the coral
    # parameters make the single seed pulse replicate until the line is filled
    m = cax_zoo.create("reaction_diffusion/coral", num_spatial_dims=1)
    _, traj = m.rollout(m.init_state(256), 30000, every=10000, trajectory=True)
    counts = [_spots(x)[1] for x in np.asarray(traj)]
    assert counts[0] == 1 and counts[-1] >= 8 and counts == sorted(counts)
    img = m.render(traj[-1])
    assert img.shape == (1, 256, 3) and img.dtype == np.uint8


def test_coral_fills_3d_as_one_sponge():
    m = cax_zoo.create("reaction_diffusion/coral", num_spatial_dims=3)
    s = m.init_state(32)
    f = m.rollout(s, 3000)
    labels, n = _spots(f)
    frac = float((np.asarray(f)[..., 1] > 0.2).mean())
    assert frac > 2 * float((np.asarray(s)[..., 1] > 0.2).mean())
    assert n == 1
    assert np.isfinite(np.asarray(f)).all()
    assert m.render(f).shape == (32, 32, 3)


def test_batched_rollout_and_render():
    m = cax_zoo.create("reaction_diffusion/mitosis")
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    batch = jnp.stack([m.init_state(32, key=k) for k in keys])
    out = m.rollout(batch, 10)
    assert out.shape == (2, 32, 32, 2) and out.dtype == jnp.float32
    np.testing.assert_allclose(out[1], m.rollout(batch[1], 10), atol=1e-6)
    img = m.render(out[0])
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
