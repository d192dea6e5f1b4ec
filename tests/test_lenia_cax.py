"""CAX's Lenia content (Faldor & Cully 2025): its stored patterns, Gaussian ring kernels with
NaN padding, exponential growth, state_scale, free kernels and random rules, each checked
against a float64 numpy restatement of CAX's definitions (``cax/cs/lenia``)."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import DataError, lenia


def _bell(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2)


def _cax_kernel(d, r, b, core):
    """CAX's ``get_kernel_fn``: ``b`` padded with NaN, rings = its non-NaN entries."""
    n = np.count_nonzero(~np.isnan(b))
    pos = d * n / r
    idx = np.minimum(pos.astype(int), n - 1)
    x = pos % 1
    c = _bell(x, 0.5, 0.15) if core == "gaussian" else (4 * x * (1 - x)) ** 4
    return (d < r) * b[idx] * c


def _cax_lenia_steps(state, rule, *, R, T, scale, core, steps):
    """CAX's LeniaPerceive + LeniaUpdate in float64: centred mgrid distances over
    ``scale R``, fftshifted normalised kernels, one-hot channel maps, exponential growth
    ``2 bell(u, mean, std) - 1``, ``clip(A + G / T, 0, 1)``."""
    h, w, c = state.shape
    x = np.mgrid[-h // 2: h // 2, -w // 2: w // 2] / (scale * R)
    d = np.linalg.norm(x, axis=0)
    kfft = []
    for r, b in zip(rule["kernel_r"], rule["kernel_b"]):
        k = _cax_kernel(d, r, np.asarray([np.nan if v is None else v for v in b], np.float64), core)
        kfft.append(np.fft.fft2(np.fft.fftshift(k / k.sum())))
    kfft = np.stack(kfft, -1)
    src = np.eye(c)[rule["channel_source"]].T  # (C, K)
    dst = np.eye(c)[rule["channel_target"]]  # (K, C)
    a = np.asarray(state, np.float64)
    for _ in range(steps):
        fa = np.fft.fft2(a, axes=(0, 1)) @ src
        u = np.real(np.fft.ifft2(kfft * fa, axes=(0, 1)))
        g = np.asarray(rule["weight"]) * (2 * _bell(u, np.asarray(rule["growth_mean"]), np.asarray(rule["growth_std"])) - 1)
        a = np.clip(a + (g @ dst) / T, 0, 1)
    return a


def _cax_state(cells, size, scale):
    p = np.asarray(cells, np.float64)
    for axis in range(2):
        p = p.repeat(scale, axis=axis)
    state = np.zeros((size, size, p.shape[-1]))
    mid = size // 2
    state[mid - p.shape[0] // 2: mid - p.shape[0] // 2 + p.shape[0],
          mid - p.shape[1] // 2: mid - p.shape[1] // 2 + p.shape[1]] = p
    return state


@pytest.fixture(scope="module")
def cax_doc(data_dir):
    return json.loads((data_dir / "lenia" / "cax_patterns.json").read_text())


@pytest.mark.parametrize("name,pattern,size", [("lenia/5n7kkm", "5N7KKM", 64),
                                               ("lenia/cax_gyrorbium", "Gyrorbium", 64)])
def test_cax_creatures_follow_cax_definitions(cax_doc, name, pattern, size):
    model = cax_zoo.create(name)
    settings = lenia.CAX_SETTINGS[pattern]
    assert (model.R, model.T, model.state_scale) == (settings["R"], settings["T"], settings["state_scale"])
    entry = cax_doc["patterns"][pattern]
    state = model.init_state((size, size))
    expected = _cax_state(entry["cells"]["data"], size, settings["state_scale"])
    np.testing.assert_array_equal(np.asarray(state), expected.astype(np.float32))  # placement as CAX's
    ref = _cax_lenia_steps(expected, entry["rule"], R=settings["R"], T=settings["T"],
                           scale=settings["state_scale"], core=settings["kernel_core"], steps=15)
    np.testing.assert_allclose(np.asarray(model.rollout(state, 15)), ref, atol=2e-4)


def test_cax_orbium_differs_from_chans(cax_doc):
    ours = cax_zoo.load("lenia/cax_orbium")
    assert float(ours.pattern.sum()) == pytest.approx(75.10, abs=0.01)
    assert float(cax_zoo.load("lenia/orbium").pattern.sum()) == pytest.approx(76.86, abs=0.01)
    assert (ours.kernel_core, ours.growth) == ("gaussian", "exponential")


def test_5n7kkm_trio_keeps_mass_and_moves():
    """The three 5N7KKM creatures share one rule: one batched rollout of 500 steps."""
    model = cax_zoo.load("lenia/5n7kkm")
    states = jnp.stack([cax_zoo.load(f"lenia/{n}").init_state((96, 96))
                        for n in ("5n7kkm", "5n7kkm_gyrating", "5n7kkm_twin")])
    for n in ("5n7kkm_gyrating", "5n7kkm_twin"):
        assert eqx.tree_equal(cax_zoo.load(f"lenia/{n}").rule, model.rule)
    _, traj = model.rollout(states, 500, every=10, trajectory=True)  # < half the grid between samples
    for i in range(3):
        met = model.metrics(traj[i], every=10)
        assert np.all(np.abs(met["mass"] / met["mass"][0] - 1) < 0.2)
        assert np.all(met["speed"][1:] > 0.5)  # cells per unit time (state_scale 2)


def test_free_kernel_matches_cax():
    """CAX's ``free_kernel_fn``: sigmoid(-10 (d - 1)) sum_j b_j bell(d / r, a_j, w_j)."""
    d = np.linspace(0.0, 1.4, 57)
    r, b, a, w = 0.91, np.array([0.1, 0.6, 0.7]), np.array([0.1, 0.4, 0.8]), np.array([0.05, 0.05, 0.05])
    expected = 1 / (1 + np.exp(10 * (d - 1))) * sum(bj * _bell(d / r, aj, wj) for bj, aj, wj in zip(b, a, w))
    got = lenia.free_kernel(jnp.asarray(d, jnp.float32), jnp.float32(r), jnp.asarray(b, jnp.float32),
                            jnp.asarray(a, jnp.float32), jnp.asarray(w, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)
    # and a free-kernel Lenia normalises it per kernel on the grid
    model = cax_zoo.Lenia(R=10, kernel_core="free", b=[list(b)], a=[list(a)], w=[list(w)], r=r)
    k = np.asarray(model.kernels((64, 64)))[..., 0]
    dist = lenia.offset_distance((64, 64)) / 10.0
    raw = 1 / (1 + np.exp(10 * (dist - 1))) * sum(bj * _bell(dist / r, aj, wj) for bj, aj, wj in zip(b, a, w))
    np.testing.assert_allclose(k, raw / raw.sum(), atol=1e-6)


def test_ring_weights_accept_cax_nan_padding():
    padded = lenia.rule_from_arrays(m=[0.1, 0.2], s=[0.01, 0.02], b=[[1.0, np.nan, np.nan], [0.5, 1.0, None]])
    assert padded.rings.tolist() == [1, 2] and padded.b.shape == (2, 2)
    np.testing.assert_array_equal(np.asarray(padded.b), [[1.0, 0.0], [0.5, 1.0]])
    with pytest.raises(cax_zoo.ConfigError, match="padding"):
        lenia.rule_from_arrays(b=[1.0, np.nan, 0.5])


def test_random_rules_are_vmappable_pytrees():
    """CAX's notebook: 15 random rules of 3 channels (source/target/weight/kernel/growth
    drawn per kernel), a Lenia of them runs, and a batch of rules vmaps."""
    draw = jax.jit(jax.vmap(lambda k: lenia.sample_rule(k, num_channels=3)))
    rule = draw(jax.random.split(jax.random.key(0), 15))
    assert rule.m.shape == (15,) and rule.b.shape == (15, 3)
    rings, b = np.asarray(rule.rings), np.asarray(rule.b)
    assert rings.min() >= 1 and rings.max() <= 3 and len(set(rings.tolist())) > 1
    assert all(np.all(b[i, n:] == 0) and np.all((b[i, :n] >= 0.1) & (b[i, :n] <= 1)) for i, n in enumerate(rings))
    assert np.all((np.asarray(rule.m) >= 0.05) & (np.asarray(rule.m) <= 0.5))
    model = cax_zoo.Lenia(R=6, T=2, state_scale=1, kernel_core="gaussian", growth="exponential",
                          num_channels=3, rule=rule)
    state = jax.random.uniform(jax.random.key(1), (24, 24, 3))
    rules = jax.vmap(draw)(jax.random.split(jax.random.key(2), (4, 15)))

    @eqx.filter_jit
    def run(model, rules):
        batch = eqx.filter_vmap(lambda r: eqx.tree_at(lambda m: m.rule, model, r).step(state))(rules)
        one = eqx.tree_at(lambda m: m.rule, model, jax.tree_util.tree_map(lambda x: x[2], rules)).step(state)
        return model.step(state), batch, one

    out, batch, one = run(model, rules)
    assert out.shape == state.shape and bool(jnp.all(jnp.isfinite(out)))
    assert batch.shape == (4, 24, 24, 3)
    np.testing.assert_allclose(np.asarray(batch[2]), np.asarray(one), atol=1e-5)
    free = jax.jit(jax.vmap(lambda k: lenia.sample_rule(k, num_channels=1, free=True)))(
        jax.random.split(jax.random.key(3), 10))
    assert free.a.shape == (10, 3) and np.all(np.asarray(free.w) >= 0.01)


def test_cax_patterns_file_errors(tmp_path, monkeypatch, data_dir):
    from cax_zoo._data import _cax_lenia

    bad = tmp_path / "lenia"
    bad.mkdir()
    (bad / "cax_patterns.json").write_text("{}")
    with pytest.raises(DataError, match="sha256"):
        lenia.load_cax_pattern("Orbium", data=tmp_path)
    monkeypatch.delenv("CAX_ZOO_DATA")
    with pytest.raises(DataError, match="CAX_ZOO_DATA"):
        lenia.load_cax_pattern("Orbium")
    entry = json.loads((data_dir / "lenia" / "cax_patterns.json").read_text())["patterns"]["Orbium"]
    for change, match in [(lambda e: e["cells"].update(shape=[20, 20, 1, 1]), "shape"),
                          (lambda e: e["cells"]["data"][0][0].__setitem__(0, 2.0), r"\[0, 1\]"),
                          (lambda e: e["rule"].update(kernel_b=[[1.0, None, 0.5]]), "null padding"),
                          (lambda e: e["rule"].update(channel_target=[3]), "channels"),
                          (lambda e: e["rule"].update(growth_std=[0.1, 0.2]), "disagree")]:
        broken = json.loads(json.dumps(entry))
        change(broken)
        with pytest.raises(DataError, match=match):
            _cax_lenia.parse_cax_pattern("Orbium", broken)


@pytest.mark.parametrize("text,match", [("9999999999o!", "too large"), ("5000A!", "exceeds"),
                                        ("x = 99999999, y = 3\nA!", "header"),
                                        ("4000A" + "4000$A!", "bounding box")])
def test_rle_sizes_are_bounded_before_allocating(text, match):
    with pytest.raises(DataError, match=match):
        lenia.parse_rle(text, 2)


@pytest.mark.parametrize("kwargs,match", [
    ({"R": 1e9}, "R must be <="), ({"state_scale": 100}, "state_scale"), ({"num_kernels": 10**6}, "num_kernels"),
    ({"num_channels": 10**5}, "num_channels"), ({"default_size": 10**6}, "default_size"),
    ({"pattern_shape": [4096, 4096, 1]}, "pattern_shape"), ({"b": [[1.0] * 100]}, "ring weights"),
    ({"m": [0.1] * 300, "s": 0.01}, "number of kernels"), ({"growth": "cubic"}, "growth"),
    ({"num_kernels": 2, "m": 0.1}, "rule once"), ({"kernel_core": "free"}, "free"),
])
def test_lenia_config_is_bounded(kwargs, match):
    with pytest.raises(cax_zoo.ConfigError, match=match):
        cax_zoo.Lenia(**kwargs)
