"""Particle systems: Particle Lenia, Particle Life, boids, and the shared cell list."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, ParticleState, StateError
from cax_zoo._blocks._cell_list import (
    all_pairs_candidates,
    build_cell_table,
    cell_list_candidates,
    periodic_grid,
)
from cax_zoo.particles import (
    AbstractBoidsPolicy,
    Boids,
    Neighbourhood,
    NeuralPolicy,
    ParticleLenia,
    ParticleLife,
    ReynoldsRules,
    life_force,
    order_parameter,
)

FAMILIES = ("particle_lenia", "particle_life", "boids")


# ------------------------------------------------------------------ cell list block
def _true_pairs(x, cutoff, box):
    dx = x[None] - x[:, None]
    if box is not None:
        dx -= box * np.round(dx / box)
    r = np.linalg.norm(dx, axis=-1)
    return {(i, j) for i, j in zip(*np.nonzero(r < cutoff)) if i != j}


@pytest.mark.parametrize("d, box", [(1, 10.0), (2, 10.0), (3, 10.0), (2, None), (2, 2.5)])
def test_cell_list_finds_every_pair_within_cutoff(d, box):
    rng = np.random.default_rng(d)
    n, cutoff = 300 if d < 3 else 400, 1.0
    x = rng.uniform(0, 10.0, (n, d)).astype(np.float32)
    if box is None:
        x = x * 3 - 15  # open space, hashed onto a 4^d grid: far particles share cells
        grid, cell = (4,) * d, cutoff
    else:
        x = np.mod(x, box)
        grid, cell = periodic_grid(box, cutoff, d)
    idx, max_count = cell_list_candidates(jnp.asarray(x), cell, grid, max_occupancy=128)
    idx = np.asarray(idx)
    assert int(max_count) <= 128
    rows = np.repeat(np.arange(n), idx.shape[1])
    cols = idx.ravel()
    keep = (cols < n) & (cols != rows)
    found = set(zip(rows[keep].tolist(), cols[keep].tolist()))
    assert _true_pairs(x, cutoff, box) <= found
    # no candidate appears twice for a particle (even when the grid has < 3 cells per axis)
    for row in idx:
        real = row[row < n]
        assert len(real) == len(set(real.tolist()))


def test_cell_table_reports_overflow():
    x = jnp.zeros((10, 2)) + 0.5  # all in one cell
    table, coords, max_count = build_cell_table(x, 1.0, (4, 4), 4)
    assert int(max_count) == 10
    assert int((table < 10).sum()) == 4  # the surplus is dropped, never written elsewhere
    assert np.asarray(all_pairs_candidates(3)).tolist() == [[0, 1, 2]] * 3


def test_cell_list_overflow_raises_at_run_time():
    m = ParticleLife(neighbour_method="cell_list", max_occupancy=2)
    s = ParticleState(jnp.full((8, 2), 0.5), jnp.zeros((8, 2)), jnp.zeros(8, jnp.int32))
    with pytest.raises(Exception, match="max_occupancy"):
        jax.block_until_ready(m.rollout(s, 1).positions)


# ------------------------------------------------------------------ shared behaviour
@pytest.mark.parametrize("name", FAMILIES)
def test_state_validation_and_config_errors(name):
    m = cax_zoo.create(name)
    s = m.init_state(10)
    assert m.check_state(s) == 0
    with pytest.raises(StateError, match="ParticleState"):
        m.rollout(s.positions, 1)
    with pytest.raises(StateError, match="positions of shape"):
        m.rollout(ParticleState(jnp.zeros((10, 3)), jnp.zeros((10, 3)), jnp.zeros(10, jnp.int32)), 1)
    with pytest.raises(StateError, match="velocities"):
        m.rollout(ParticleState(s.positions, jnp.zeros((9, 2)), s.types), 1)
    with pytest.raises(StateError, match="integer particle types"):
        m.rollout(ParticleState(s.positions, s.velocities, s.types.astype(jnp.float32)), 1)
    with pytest.raises(StateError, match="types must lie"):
        m.rollout(ParticleState(s.positions, s.velocities, s.types + 99), 1)
    with pytest.raises(StateError, match="number of particles"):
        m.init_state((4, 4))
    with pytest.raises(ConfigError, match="neighbour_method"):
        cax_zoo.create(name, neighbour_method="octree")
    with pytest.raises(ConfigError, match="max_occupancy"):
        cax_zoo.create(name, max_occupancy=0)


@pytest.mark.parametrize("name", FAMILIES)
def test_batched_rollout_render_and_config_round_trip(name, tmp_path):
    m = cax_zoo.create(name, neighbour_method="all_pairs")
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    states = [m.init_state(50, key=k) for k in keys]
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *states)
    assert m.check_state(batch) == 1
    out = m.rollout(batch, 5)
    np.testing.assert_allclose(out.positions[1], m.rollout(states[1], 5).positions, rtol=1e-5, atol=1e-5)
    img = m.render(m.rollout(states[0], 5))
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8 and img.any()
    assert m.render(states[0], size=64).shape == (64, 64, 3)
    cax_zoo.save_pretrained(m, tmp_path / name)
    again = cax_zoo.load_pretrained(tmp_path / name)
    assert again.config() == m.config()
    np.testing.assert_allclose(again.rollout(states[0], 3).positions, m.rollout(states[0], 3).positions)


@pytest.mark.parametrize("name", FAMILIES)
def test_cell_list_matches_all_pairs(name):
    # same forces and the same short trajectory when no cell overflows
    kw = {"particle_lenia": {"box_size": 40.0}, "particle_life": {}, "boids": {}}[name]
    a = cax_zoo.create(name, neighbour_method="all_pairs", **kw)
    c = cax_zoo.create(name, neighbour_method="cell_list", max_occupancy=128, **kw)
    s = a.init_state(400, key=jax.random.PRNGKey(7))
    fa, ta = a.rollout(s, 20, every=5, trajectory=True)
    fc, tc = c.rollout(s, 20, every=5, trajectory=True)
    np.testing.assert_allclose(tc.velocities[1], ta.velocities[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tc.positions, ta.positions, rtol=1e-4, atol=1e-4)


def test_particle_lenia_open_space_cell_list_matches_all_pairs():
    a = ParticleLenia(neighbour_method="all_pairs")
    # a 3x3 hash grid of cells of side 8: distant cells collide, candidates are filtered
    c = ParticleLenia(neighbour_method="cell_list", hash_cells=3, max_occupancy=200)
    s = a.init_state()
    for f in ("motion_field", "_energy"):
        got = jax.jit(getattr(c, f))(s.positions)
        np.testing.assert_allclose(got, jax.jit(getattr(a, f))(s.positions), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, kw", [
    ("boids", {"box_size": 4000.0}),
    ("particle_life", {"box_size": 3.2, "max_occupancy": 64}),
    ("particle_lenia", {}),
])
def test_ten_thousand_particles_step_with_small_memory(name, kw):
    n = 10_000
    c = cax_zoo.create(name, neighbour_method="cell_list", **kw)
    a = cax_zoo.create(name, neighbour_method="all_pairs", **kw)
    s = c.init_state(n)
    if name == "particle_lenia":  # spread out so that cells of side 8 stay under the occupancy
        s = ParticleState(s.positions * 2.0, s.velocities, s.types)
    # compiled temporary memory: the cell list needs a fraction of all pairs' N^2 buffers
    step_c = jax.jit(lambda x: c.step(x)).lower(s).compile()
    mem_c = step_c.memory_analysis().temp_size_in_bytes
    mem_a = jax.jit(lambda x: a.step(x)).lower(s).compile().memory_analysis().temp_size_in_bytes
    assert mem_a >= n * n * 4  # all pairs holds at least one N x N float array
    assert mem_c < mem_a / 2 and mem_c < 600 * 2**20
    out = step_c(step_c(s))
    assert out.positions.shape == (n, 2)
    assert np.isfinite(np.asarray(out.positions)).all()


def test_particles_run_in_1d_and_3d():
    for d, name in [(1, "boids"), (3, "particle_lenia")]:
        m = cax_zoo.create(name, num_spatial_dims=d)
        s = m.init_state(60)
        out = m.rollout(s, 10)
        assert out.positions.shape == (60, d)
        assert np.isfinite(np.asarray(out.positions)).all()
        assert m.render(out).shape == (256, 256, 3)
        if d == 1:  # a 1-D trajectory renders as one space-time diagram
            _, traj = m.rollout(s, 10, every=5, trajectory=True)
            (diagram,) = m.render_trajectory(traj)
            assert diagram.shape == (3, 256, 3) and diagram.any()


# ------------------------------------------------------------------ Particle Lenia
def test_particle_lenia_paper_parameters():
    m = cax_zoo.create("particle_lenia")
    assert (m.mu_k, m.sigma_k, m.w_k, m.mu_g, m.sigma_g, m.c_rep, m.dt) == (4.0, 1.0, 0.022, 0.6, 0.15, 1.0, 0.1)
    s = m.init_state()
    assert s.positions.shape == (200, 2)
    assert float(jnp.abs(s.positions).max()) <= 6.0  # the demo's [-6, 6]^2 square
    # energy of two particles at distance r: E = 2 * (R - G) computed by hand
    for r in (0.5, 4.0):
        two = ParticleState(jnp.array([[0.0, 0.0], [r, 0.0]]), jnp.zeros((2, 2)), jnp.zeros(2, jnp.int32))
        u = 0.022 * np.exp(-((r - 4.0) / 1.0) ** 2)
        e = 0.5 * max(1 - r, 0) ** 2 - np.exp(-((u - 0.6) / 0.15) ** 2)
        assert float(m.energy(two)) == pytest.approx(2 * e, rel=1e-5)


def test_particle_lenia_energy_descent():
    # gradient descent on the total energy: monotone at small dt
    s = ParticleLenia().init_state()
    m = ParticleLenia(motion="total", dt=0.02)
    _, traj = m.rollout(s, 1500, every=15, trajectory=True)
    e = np.asarray(jax.jit(jax.vmap(m._energy))(traj.positions))
    assert np.diff(e).max() <= 1e-4 * np.abs(e).max()
    assert e[-1] < e[0] - 100


def test_particle_lenia_local_rule_lowers_energy_but_keeps_moving():
    # the paper's rule descends each particle's own field: the energy drops from the
    # random start, but it is not a gradient flow, so the pattern never comes to rest
    m = cax_zoo.create("particle_lenia")
    s = m.init_state()
    _, traj = m.rollout(s, 3000, every=1000, trajectory=True)
    e = np.asarray(jax.jit(jax.vmap(m._energy))(traj.positions))
    assert e[0] > 0 and e[-1] < -100
    speed = np.linalg.norm(np.asarray(traj.velocities[-2:]), axis=-1).mean(-1)
    assert (speed > 0.01).all()
    # velocities store the motion field -grad E of the positions they moved from
    x = traj.positions[-1]
    out = m.rollout(ParticleState(x, jnp.zeros_like(x), traj.types[-1]), 1)
    np.testing.assert_allclose(out.velocities, jax.jit(m.motion_field)(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.positions, x + 0.1 * out.velocities, atol=1e-5)


# ------------------------------------------------------------------ Particle Life
def test_particle_life_force_profile():
    beta = 0.3
    f = lambda r, a: float(life_force(jnp.float32(r), jnp.float32(a), beta))  # noqa: E731
    assert f(0.0, 0.7) == pytest.approx(-1.0)  # full repulsion at contact, whatever a
    assert f(beta, 0.7) == pytest.approx(0.0, abs=1e-6)
    assert f((1 + beta) / 2, 0.7) == pytest.approx(0.7)  # peak of the bump is a
    assert f((1 + beta) / 2, -0.4) == pytest.approx(-0.4)
    assert f(1.0, 0.7) == pytest.approx(0.0, abs=1e-6) and f(1.5, 0.7) == 0.0


def test_particle_life_attraction_matrix_and_friction():
    m = ParticleLife(num_types=3, seed=5)
    a = np.asarray(m.attraction)
    assert a.shape == (3, 3) and (a >= -1).all() and (a <= 1).all()
    assert not np.allclose(a, a.T)  # asymmetric: the source of chasing clusters
    np.testing.assert_array_equal(ParticleLife(num_types=3, seed=5).attraction, a)
    with pytest.raises(ConfigError, match="attraction"):
        ParticleLife(num_types=3, attraction=np.zeros((2, 2)))
    # no neighbours: velocity halves every friction_half_life of time
    lone = ParticleState(jnp.array([[0.5, 0.5]]), jnp.array([[1.0, 0.0]]), jnp.zeros(1, jnp.int32))
    out = m.rollout(lone, 2)  # 2 steps of dt=0.02 = one half-life of 0.04
    assert float(out.velocities[0, 0]) == pytest.approx(0.5, rel=1e-5)


def test_particle_life_attraction_makes_clusters():
    # one species attracting itself clumps: the nearest-neighbour distance falls well
    # below that of the uniform start; with zero attraction only the universal
    # repulsion acts and particles spread until neighbours sit about beta * r_max apart
    def nn(x):
        dx = x[None] - x[:, None]
        dx -= np.round(dx)
        r = np.linalg.norm(dx, axis=-1) + np.eye(len(x)) * 9
        return r.min(1).mean()

    attract = ParticleLife(num_types=1, attraction=[[1.0]], neighbour_method="all_pairs")
    s = attract.init_state(400)
    start = nn(np.asarray(s.positions))
    assert nn(np.asarray(attract.rollout(s, 300).positions)) < 0.5 * start
    neutral = ParticleLife(num_types=1, attraction=[[0.0]], neighbour_method="all_pairs")
    spread = nn(np.asarray(neutral.rollout(s, 300).positions))
    assert spread > start and spread > 0.9 * neutral.beta * neutral.r_max


# ------------------------------------------------------------------ boids
def test_boids_align_from_random_headings():
    m = cax_zoo.create("boids")
    s = m.init_state(200)
    _, traj = m.rollout(s, 600, every=200, trajectory=True)
    phi = np.asarray(order_parameter(traj.velocities))
    assert phi[0] < 0.25  # random headings: ~1/sqrt(N)
    assert phi[-1] > 0.8  # a polarised flock
    assert float(m.order_parameter(s)) == pytest.approx(phi[0])
    speed = np.linalg.norm(np.asarray(traj.velocities[-1]), axis=-1)
    assert speed.min() >= 3.0 - 1e-4 and speed.max() <= 6.0 + 1e-4
    assert (np.asarray(traj.positions) >= 0).all() and (np.asarray(traj.positions) < 400).all()


def test_boids_rules_act_alone():
    base = dict(centering_factor=0.0, avoid_factor=0.0, matching_factor=0.0, min_speed=0.0, max_speed=100.0)
    two = lambda x2, v2: ParticleState(  # noqa: E731
        jnp.array([[100.0, 100.0], x2]), jnp.array([[1.0, 0.0], v2]), jnp.zeros(2, jnp.int32))
    # separation: a boid 5 away (inside protected range 8) pushes the other away
    m = Boids(**{**base, "avoid_factor": 0.05})
    v = m.steering(two([105.0, 100.0], [1.0, 0.0]).positions, two([105.0, 100.0], [1.0, 0.0]).velocities)
    assert float(v[0, 0]) == pytest.approx(-0.25)
    # alignment: a boid 20 away moving up turns the first one up
    m = Boids(**{**base, "matching_factor": 0.05})
    st = two([120.0, 100.0], [0.0, 1.0])
    v = m.steering(st.positions, st.velocities)
    np.testing.assert_allclose(v[0], [-0.05, 0.05], atol=1e-6)
    # cohesion: pulled towards it (across the periodic edge too)
    m = Boids(**{**base, "centering_factor": 0.01})
    st = ParticleState(jnp.array([[1.0, 50.0], [391.0, 50.0]]), jnp.zeros((2, 2)), jnp.zeros(2, jnp.int32))
    v = m.steering(st.positions, st.velocities)
    np.testing.assert_allclose(v[0], [-0.1, 0.0], atol=1e-5)
    # a boid out of visual range (40) is ignored
    st = two([150.0, 100.0], [0.0, 1.0])
    assert float(jnp.abs(m.steering(st.positions, st.velocities)).max()) == 0.0


def test_registry_lists_particle_families():
    names = cax_zoo.list_models()
    for n in FAMILIES:
        assert n in names
    assert cax_zoo.get_entry("particle_lenia").family == "particle_lenia"


def _reynolds_numpy(x, v, box, *, visual, protected, centering, avoid, matching):
    """The classic rules restated in float64 numpy, all pairs, nearest periodic image."""
    dx = x[None, :] - x[:, None]
    dx -= box * np.round(dx / box)
    r2 = (dx**2).sum(-1)
    np.fill_diagonal(r2, np.inf)
    close = r2 < protected**2
    near = ~close & (r2 < visual**2)
    out = np.zeros_like(v)
    for i in range(len(x)):
        if near[i].any():
            out[i] += centering * dx[i, near[i]].mean(0) + matching * (v[near[i]].mean(0) - v[i])
        out[i] -= avoid * dx[i, close[i]].sum(0)
    return out


def test_boids_policy_is_pluggable():
    m = cax_zoo.create("boids")
    assert isinstance(m.policy, ReynoldsRules) and isinstance(m.policy, AbstractBoidsPolicy)
    s = m.init_state(150, key=jax.random.PRNGKey(3))
    x, v = np.asarray(s.positions, np.float64), np.asarray(s.velocities, np.float64)
    ref = _reynolds_numpy(x, v, 400.0, visual=40.0, protected=8.0, centering=0.0005, avoid=0.05, matching=0.05)
    np.testing.assert_allclose(np.asarray(m.steering(s.positions, s.velocities)), ref, atol=1e-5)
    # CAX's noise term: uniform in [-noise, noise] per component, only with a key
    noisy = Boids(noise=0.1)
    base = np.asarray(noisy.steering(s.positions, s.velocities))
    np.testing.assert_allclose(base, ref, atol=1e-5)
    diff = np.asarray(noisy.steering(s.positions, s.velocities, key=jax.random.key(0))) - base
    assert np.abs(diff).max() <= 0.1 + 1e-6 and 0.04 < np.abs(diff).mean() < 0.06  # E|U(-.1, .1)| = 0.05
    assert noisy.config()["noise"] == 0.1 and cax_zoo.create("boids", **noisy.config()).policy.noise == 0.1

    # any policy module plugs in: one that pushes every boid along +x
    class Wind(AbstractBoidsPolicy):
        def __call__(self, seen, velocities, *, key=None):
            assert isinstance(seen, Neighbourhood)
            return jnp.zeros_like(velocities).at[:, 0].set(1.0)

        def config(self):
            return {}

    windy = Boids(policy=Wind(), min_speed=0.0, max_speed=100.0)
    np.testing.assert_allclose(np.asarray(windy.step(s).velocities - s.velocities)[:, 0], 1.0, atol=1e-5)


def test_neural_boids_policy_is_a_trainable_equinox_module(tmp_path):
    m = Boids(policy="neural", hidden=8, key=jax.random.key(0))
    assert isinstance(m.policy, NeuralPolicy) and isinstance(m.policy.mlp, eqx.nn.MLP)
    s = m.init_state(32, key=jax.random.PRNGKey(1))
    assert float(jnp.abs(m.steering(s.positions, s.velocities)).max()) > 0

    def loss(model):  # reward alignment after a few steps
        return -order_parameter(model.rollout(s, 3).velocities)

    grads = eqx.filter_grad(loss)(m)
    g = jax.tree_util.tree_leaves(eqx.filter(grads.policy.mlp, eqx.is_array))
    assert g and all(np.all(np.isfinite(np.asarray(x))) for x in g) and any(np.any(np.asarray(x) != 0) for x in g)
    with pytest.raises(ConfigError, match="policy"):
        Boids(policy="swarm")
    folder = cax_zoo.save_pretrained(m, tmp_path / "neural")
    back = cax_zoo.load_pretrained(folder)
    assert eqx.tree_equal(eqx.filter(back, eqx.is_array), eqx.filter(m, eqx.is_array))
    assert Boids(policy="neural").policy.mlp.layers[0].weight.sum() == 0  # no key: a zero skeleton


def test_particle_life_cax_preset():
    cax = cax_zoo.create("particle_life/cax")
    assert (cax.num_types, cax.dt, cax.r_max, cax.beta, cax.friction_half_life) == (6, 0.01, 0.15, 0.3, 0.01)
    assert cax.force_factor * cax.r_max == pytest.approx(1.0)  # CAX's force 1 (no r_max scale there)
    assert cax.init_state().positions.shape == (4096, 2)
    mohr = cax_zoo.create("particle_life")
    assert (mohr.r_max, mohr.dt, mohr.init_state().positions.shape[0]) == (0.1, 0.02, 1000)
    # CAX's acceleration: force_factor * sum_j F(r_ij / r_max, A[t_i, t_j]) * unit(x_j - x_i)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (300, 2)).astype(np.float32)
    t = rng.integers(0, 6, 300).astype(np.int32)
    small = cax_zoo.create("particle_life/cax", num_particles=300, neighbour_method="all_pairs")
    a = np.asarray(small.attraction, np.float64)
    dx = x[None].astype(np.float64) - x[:, None]
    dx -= np.round(dx)
    r = np.linalg.norm(dx, axis=-1) / 0.15
    np.fill_diagonal(r, np.inf)
    at = a[t[:, None], t[None]]
    f = np.select([r <= 0.3, (r > 0.3) & (r <= 1)], [r / 0.3 - 1, at * (1 - np.abs(2 * r - 1 - 0.3) / 0.7)], 0.0)
    unit = dx / np.where(np.isinf(r), 1.0, r * 0.15)[..., None]
    expected = 1.0 * (f[..., None] * unit).sum(1)
    np.testing.assert_allclose(np.asarray(small.forces(jnp.asarray(x), jnp.asarray(t))), expected, atol=2e-4)


def test_particle_families_share_the_abstract_base():
    from cax_zoo._particles import AbstractParticleSystem

    for name in FAMILIES:
        model = cax_zoo.create(name)
        assert isinstance(model, AbstractParticleSystem) and model.family == name
        for method in ("check_state", "prepare_state", "render", "render_trajectory"):
            assert method not in vars(type(model)), (name, method)  # the base's, not redefined
    with pytest.raises(TypeError):
        AbstractParticleSystem()
