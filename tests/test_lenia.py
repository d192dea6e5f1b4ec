"""Lenia: Chan's catalogue parser, creature behaviour, dimensions, gradients, errors."""

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cax_zoo
from cax_zoo import ConfigError, DataError, StateError
from cax_zoo._data import _lenia_catalogue as cat
from cax_zoo.lenia import Lenia, centre_of_mass, creature_metrics


# ----------------------------------------------------------------------------- parser
def _val2ch(v: int) -> str:  # Chan's val2ch (LeniaND.py), used to write test patterns
    if v == 0:
        return "."
    if v < 25:
        return chr(ord("A") + v - 1)
    return chr(ord("p") + (v - 25) // 24) + chr(ord("A") + (v - 25) % 24)


def _arr2rle(values: np.ndarray) -> str:
    """Chan's arr2rle for integer values 0-255 in 2-D or 3-D, with run-length counts."""
    def row(r):
        out, i = [], 0
        while i < len(r):
            j = i
            while j < len(r) and r[j] == r[i]:
                j += 1
            out.append((str(j - i) if j - i > 1 else "") + _val2ch(int(r[i])))
            i = j
        return "".join(out)

    if values.ndim == 2:
        return "$".join(row(r) for r in values) + "!"
    return "%".join("$".join(row(r) for r in layer) for layer in values) + "!"


def test_rle_values_and_delimiters():
    a = cat.parse_rle("2A.$.yO!", 2) * 255
    np.testing.assert_allclose(a, [[1, 1, 0], [0, 255, 0]], atol=1e-4)
    # a count before '$' adds empty rows; short rows are padded with zeros
    a = cat.parse_rle("pA2$B!", 2) * 255
    np.testing.assert_allclose(a, [[25], [0], [2]], atol=1e-4)
    # 3-D: '%' ends a layer
    a = cat.parse_rle("A$.B%C!", 3) * 255
    assert a.shape == (2, 2, 2)
    np.testing.assert_allclose(a[0], [[1, 0], [0, 2]], atol=1e-4)
    np.testing.assert_allclose(a[1], [[3, 0], [0, 0]], atol=1e-4)
    # Golly-style b/o cells (the Game-of-Life entries)
    np.testing.assert_array_equal(cat.parse_rle("bo$2bo$3o!", 2), [[0, 1, 0], [0, 0, 1], [1, 1, 1]])


@pytest.mark.parametrize("bad", ["AZ!", "A!B", "yP", "Ap$B", "p", "0A", "A%B", "...", ""])
def test_rle_malformed_raises(bad):
    with pytest.raises(DataError):
        cat.parse_rle(bad, 2)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.lists(
    st.integers(0, 255), min_size=d * 9, max_size=d * 9).map(lambda v: np.array(v).reshape(d, 3, 3))))
def test_rle_round_trip(values):
    if not values.any():
        values[0, 0, 0] = 255
    text = _arr2rle(values)
    got = cat.parse_rle(text, 3)
    # the parser drops nothing: trailing zero rows/columns become padding of equal shape
    full = np.zeros(values.shape, np.float32)
    full[tuple(slice(0, n) for n in got.shape)] = got
    np.testing.assert_allclose(full * 255, values, atol=1e-3)


def test_fractions():
    assert cat.parse_fractions("1,1/2, 2/3") == (1.0, 0.5, pytest.approx(2 / 3))
    for bad in ("1,a", "1/0", "", "-1"):
        with pytest.raises(DataError):
            cat.parse_fractions(bad)


def test_catalogue_files(data_dir):
    creatures = cat.load_catalogue(2)
    assert len(creatures) == 548
    orbium = cat.find_creature("O2u")
    assert orbium.name == "Orbium unicaudatus"
    assert (orbium.R, orbium.T, orbium.kernels[0].m, orbium.kernels[0].s) == (13, 10, 0.15, 0.015)
    assert orbium.kernels[0].b == (1.0,) and orbium.kernel_core == "polynomial" and orbium.growth == "polynomial"
    assert orbium.cells.shape == (20, 20, 1) and 0 < orbium.cells.max() <= 1
    three = cat.load_catalogue(3)
    assert len(three) == 36 and all(c.num_spatial_dims == 3 for c in three)
    assert cat.find_creature("4Gu2s", dims=3).kernels[0].b == (1.0, 0.75, 7 / 12, 11 / 12)


def test_catalogue_checksum_and_entries(tmp_path, data_dir):
    bad = tmp_path / "animals.json"
    bad.write_text(json.dumps([{"code": "x"}]))
    with pytest.raises(DataError, match="sha256"):
        cat.read_catalogue(2, data=tmp_path)
    entry = {"code": "Z", "name": "z", "params": {"R": 13, "T": 10, "b": "1", "m": 0.1, "s": 0.01,
                                                   "kn": 1, "gn": 1}, "cells": "A!"}
    assert cat.parse_entry(entry, dims=2).cells.shape == (1, 1, 1)
    for key, value, match in [("R", -1, "R"), ("kn", 7, "kn"), ("b", "1,x", "ring weight"),
                              ("m", "a", "m"), ("gn", True, "gn")]:
        broken = {**entry, "params": {**entry["params"], key: value}}
        with pytest.raises(DataError, match=match):
            cat.parse_entry(broken, dims=2)
    with pytest.raises(DataError, match="no cells"):
        cat.parse_entry({**entry, "cells": None}, dims=2)
    multi = json.loads((Path(cat.__file__).parent / cat.TESSELLATIUM_FILE).read_text())["entry"]
    bad_kernel = {**multi, "params": {**multi["params"], "kernels": [{"b": "1", "m": 0.2, "s": 0.1, "c0": 5}]}}
    with pytest.raises(DataError, match="c0"):
        cat.parse_entry(bad_kernel, dims=2)


def test_catalogue_cache_and_download_errors(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("CAX_ZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("CAX_ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cat, "URL", "http://127.0.0.1:9/")  # nothing listens: download fails
    with pytest.raises(DataError, match="could not download"):
        cat.read_catalogue(3)
    cached = tmp_path / "cache" / "lenia" / "animals3D.json"
    cached.parent.mkdir(parents=True)
    cached.write_bytes((data_dir / "lenia" / "animals3D.json").read_bytes())
    assert len(cat.load_catalogue(3)) == 36  # read from the cache
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.raises(DataError, match="sha256"):
        cat.read_catalogue(3)


# ----------------------------------------------------------------------------- behaviour
def test_orbium_glides_at_constant_velocity():
    model = cax_zoo.load("lenia/orbium")
    assert (model.R, model.T) == (13.0, 10.0)
    _, traj = model.rollout(model.init_state((64, 64)), 1000, every=50, trajectory=True)
    met = model.metrics(traj, every=50)
    m = met["mass"]
    assert np.all(np.abs(m / m[0] - 1) < 0.05)  # within 5% of the catalogue pattern's mass
    assert m[2:].max() / m[2:].min() < 1.02  # and within 2% once settled
    v = met["velocity"][1:]
    mean = v.mean(axis=0)
    assert np.linalg.norm(mean) > 0.1  # cells per step: it moves
    assert np.all(np.linalg.norm(v - mean, axis=1) < 0.03 * np.linalg.norm(mean))


def test_lenia_reproduces_game_of_life():
    """Chan (2019): R=2 staircase kernel, rectangular growth m=0.35, s=0.07, T=1 is Life."""
    glider = cax_zoo.load("lenia/life_glider")
    state = glider.init_state((16, 16))
    np.testing.assert_array_equal(glider.rollout(state, 4), jnp.roll(state, (1, 1), axis=(0, 1)))
    soup = jax.random.bernoulli(jax.random.PRNGKey(3), 0.35, (32, 32, 1))
    lenia_out = glider.rollout(soup.astype(jnp.float32), 30)
    life_out = cax_zoo.load("life").rollout(soup.astype(jnp.uint8), 30)
    np.testing.assert_array_equal(np.asarray(lenia_out), np.asarray(life_out, np.float32))


def test_creature_evaluation():
    """``cax-zoo eval``: Conway's glider travels c/4 diagonally, sqrt(2)/4 cells per step."""
    glider = cax_zoo.load("lenia/life_glider")
    facts = cax_zoo.get_entry("lenia/life_glider").evaluate(glider, steps=400)  # samples every 20 steps: whole periods
    assert facts["survived"] and facts["initial_mass"] == facts["final_mass"] == 5.0
    assert facts["mean_speed_cells_per_unit_time"] == pytest.approx(np.sqrt(2) / 4, abs=1e-4)
    with pytest.raises(ConfigError):
        cax_zoo.get_entry("lenia/life_glider").evaluate(glider, steps=100, limit=3)


def test_3d_creature_survives():
    model = cax_zoo.load("lenia/diguttome")
    assert model.num_spatial_dims == 3 and model.R == 10
    _, traj = model.rollout(model.init_state((40, 40, 40)), 240, every=40, trajectory=True)
    m = model.metrics(traj, every=40)["mass"]
    assert np.all((m > 0.8 * m[0]) & (m < 1.2 * m[0]))
    assert model.render(traj[-1]).shape == (40, 40, 3)


@pytest.mark.parametrize("dims,size", [(1, 64), (2, 48), (3, 24)])
def test_lenia_runs_in_any_dimension(dims, size):
    model = Lenia(num_spatial_dims=dims, R=5, T=10, m=0.2, s=0.03)
    state = model.init_state(size, key=jax.random.PRNGKey(0))
    assert state.shape == (size,) * dims + (1,)
    out = model.rollout(state, 8)
    assert out.shape == state.shape and bool(jnp.all((out >= 0) & (out <= 1)))
    assert float(jnp.abs(out - state).sum()) > 0
    # the fast path (kernel FFT carried through the rollout) matches the reference step
    ref = state
    for _ in range(8):
        ref = model.step(ref)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert model.render(out).dtype == np.uint8


def _chan_multichannel_steps(cells, kernels, R, T, size, steps):
    """Chan's tutorial 'From Conway to Lenia', section 'Multiple channels' (OpenLenia/
    Lenia-Tutorial), restated in float64 numpy: centred ogrid distances, ``fftshift``ed
    kernels, per-target sums of ``h * G`` and ``clip(A + 1/T * H, 0, 1)``."""
    def bell(x, m, s):
        return np.exp(-((x - m) / s) ** 2 / 2)
    mid = size // 2
    y, x = np.ogrid[-mid:mid, -mid:mid]
    dist = np.sqrt(x**2 + y**2)
    fks = []
    for k in kernels:
        b = np.asarray(k["b"], np.float64)
        d = dist / R * len(b) / k["r"]
        kern = (d < len(b)) * b[np.minimum(d.astype(int), len(b) - 1)] * bell(d % 1, 0.5, 0.15)
        fks.append(np.fft.fft2(np.fft.fftshift(kern / kern.sum())))
    As = [np.asarray(c, np.float64) for c in np.moveaxis(cells, -1, 0)]
    for _ in range(steps):
        fAs = [np.fft.fft2(a) for a in As]
        Gs = [bell(np.real(np.fft.ifft2(fk * fAs[k["c0"]])), k["m"], k["s"]) * 2 - 1
              for fk, k in zip(fks, kernels)]
        Hs = [sum(k["h"] * g for g, k in zip(Gs, kernels) if k["c1"] == c) for c in range(len(As))]
        As = [np.clip(a + 1 / T * h, 0, 1) for a, h in zip(As, Hs)]
    return np.stack(As, -1)


def test_multi_channel_multi_kernel_creature():
    """Tessellatium gyrans, Chan's tutorial pattern["aquarium"]: our multi-channel update is
    the notebook's, and under it the seed replicates (Leniabreeder's patterns.py calls the
    same VT049W entry "Aquarium (self-replicating)"): its mass roughly doubles."""
    model = cax_zoo.load("lenia/tessellatium")
    assert (model.num_channels, model.num_kernels, model.R, model.T) == (3, 15, 12.0, 2.0)
    # the notebook's rule: h sum to 2 per target channel
    rule = model.rule
    h, tg = np.asarray(rule.h), np.asarray(rule.targets)
    np.testing.assert_allclose([h[tg == c].sum() for c in range(3)], [2.002, 2.0, 2.0], atol=1e-5)
    state = model.init_state((64, 64))
    kernels = [{"b": list(np.asarray(rule.b)[i, :n]), "m": float(rule.m[i]), "s": float(rule.s[i]),
                "h": float(rule.h[i]), "r": float(rule.r[i]), "c0": int(rule.sources[i]), "c1": int(rule.targets[i])}
               for i, n in enumerate(np.asarray(rule.rings))]
    ref = _chan_multichannel_steps(np.asarray(state), kernels, 12.0, 2.0, 64, 20)
    np.testing.assert_allclose(np.asarray(model.rollout(state, 20)), ref, atol=1e-4)
    _, traj = model.rollout(model.init_state((96, 96)), 300, every=100, trajectory=True)
    m = model.metrics(traj, every=100)["mass"]
    assert np.all(np.isfinite(m))
    assert np.all((m[2:] > 1.8 * m[0]) & (m[2:] < 2.8 * m[0]))  # one division: mass about x2
    assert model.render(traj[-1]).shape == (96, 96, 3)


def test_grad_with_respect_to_rule_arrays():
    model = cax_zoo.load("lenia/orbium")
    state = model.init_state((64, 64))

    def loss(mdl):
        return jnp.sum(mdl.rollout(state, 10) ** 2)

    grads = eqx.filter_grad(loss)(model)
    for name in ("m", "s", "r", "b"):
        g = np.asarray(getattr(grads.rule, name))
        assert np.all(np.isfinite(g)) and np.any(g != 0), name
    # the single-step reference path is differentiable too
    g = eqx.filter_grad(lambda mdl: jnp.sum(mdl.step(state)))(model)
    assert np.all(np.isfinite(np.asarray(g.rule.m))) and float(jnp.abs(g.rule.m).sum()) > 0


def test_config_round_trip_and_released_folder(tmp_path, monkeypatch):
    model = cax_zoo.load("lenia/tessellatium")
    cax_zoo.save_pretrained(model, tmp_path / "t")
    back = cax_zoo.load_pretrained(tmp_path / "t")
    assert back.config() == model.config()
    np.testing.assert_array_equal(back.pattern, model.pattern)
    np.testing.assert_array_equal(back.init_state(), model.init_state())
    # the released creatures load without the catalogue
    monkeypatch.setenv("CAX_ZOO_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("CAX_ZOO_CACHE", str(tmp_path / "nocache"))
    orbium = cax_zoo.load("lenia/orbium")
    assert orbium.pattern.shape == (20, 20, 1) and orbium.init_state().shape == (128, 128, 1)


def test_periodic_centre_of_mass():
    x = np.zeros((32, 32, 1), np.float32)
    x[[31, 0, 1], 5, 0] = 1.0  # straddles the edge: centre at row 0
    np.testing.assert_allclose(centre_of_mass(x, 2), [0.0, 5.0], atol=1e-9)
    moved = np.roll(x, (3, -7), axis=(0, 1))
    traj = np.stack([x, moved])
    np.testing.assert_allclose(creature_metrics(traj, 2)["velocity"], [[3.0, -7.0]], atol=1e-9)


def test_bad_config_and_states():
    with pytest.raises(ConfigError, match="s"):
        Lenia(s=-0.1)
    with pytest.raises(ConfigError, match="kernel_core"):
        Lenia(kernel_core="cubic")
    with pytest.raises(ConfigError, match="sources"):
        Lenia(m=[0.1, 0.2], s=[0.01, 0.02], sources=[0, 3])
    with pytest.raises(ConfigError, match="target of no kernel"):
        Lenia(num_channels=2)
    with pytest.raises(ConfigError, match="disagree"):
        Lenia(m=[0.1, 0.2], s=[0.01, 0.02, 0.03])
    model = Lenia(R=13)
    with pytest.raises(StateError, match="spatial extent"):
        model.rollout(jnp.zeros((20, 20, 1)), 1)
    with pytest.raises(StateError, match="channel"):
        model.rollout(jnp.zeros((64, 64, 2)), 1)
    with pytest.raises(StateError, match="does not fit"):
        cax_zoo.load("lenia/orbium").init_state((16, 16))
