"""The pieces Lenia and Flow Lenia share: one rule parser (``LeniaRule.from_config``), one
creature description (``Creature.rule_arrays``), and one set of data readers for Chan's
catalogue and CAX's patterns (kernel parsing, cells, checked JSON files, downloads)."""

import json

import jax
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, DataError
from cax_zoo._data import _cax_lenia, _lenia_catalogue as cat
from cax_zoo.flow_lenia import FlowLenia
from cax_zoo.lenia import Lenia, LeniaRule, sample_rule


def _same(a: LeniaRule, b: LeniaRule) -> None:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# ----------------------------------------------------------------------------- the rule
def test_both_families_build_their_rule_through_from_config():
    arrays = dict(m=[0.1, 0.2], s=0.02, h=[0.5, 1.0], b=[[1, 0.5], "1,1/3"], sources=[0, 1], targets=[1, 0])
    rule = LeniaRule.from_config(num_channels=2, kernel_core="polynomial", **arrays)
    assert rule.rings.tolist() == [2, 2] and rule.b.shape == (2, 2)
    np.testing.assert_allclose(np.asarray(rule.b), [[1, 0.5], [1, 1 / 3]], rtol=1e-6)
    _same(Lenia(num_channels=2, **arrays).rule, rule)
    _same(FlowLenia(num_channels=2, kernel_core="polynomial", **arrays).rule, rule)
    # nothing given: each family's default (Flow Lenia's growth is wider)
    assert float(Lenia().rule.s[0]) == pytest.approx(0.015) and float(FlowLenia().rule.s[0]) == pytest.approx(0.03)
    default = LeniaRule.from_config(num_channels=1, kernel_core="gaussian", default={"m": 0.15, "s": 0.03})
    _same(FlowLenia().rule, default)
    # a weight file's shapes: a placeholder of the right shapes
    skeleton = LeniaRule.from_config(num_channels=1, kernel_core="free", num_kernels=3, num_rings=2)
    assert skeleton.b.shape == (3, 2) and skeleton.free
    _same(FlowLenia(num_kernels=3, num_rings=2, kernel_core="free").rule, skeleton)


def test_a_random_rule_is_sample_rule_over_split_keys():
    key = jax.random.key(7)
    rule = LeniaRule.from_config(num_channels=3, kernel_core="free", num_kernels=5, key=key)
    expected = jax.vmap(lambda k: sample_rule(k, num_channels=3, rings=3, free=True))(jax.random.split(key, 5))
    _same(rule, expected)
    _same(FlowLenia(num_channels=3, kernel_core="free", num_kernels=5, key=key).rule, expected)
    # Lenia has no random parameters: its key is ignored and num_kernels is a placeholder
    assert Lenia(num_kernels=5, key=key).rule.b.shape == (5, 1)


@pytest.mark.parametrize("kwargs,match", [
    ({"q": [0.1]}, "unknown Lenia rule array"),
    ({"num_kernels": 2, "key": 3}, "key"),
    ({"num_kernels": 2, "key": jax.random.key(0), "m": 0.1}, "rule once"),
    ({"rule": "not a rule"}, "LeniaRule"),
    ({"num_channels": 0}, "num_channels"),
    ({"kernel_core": "cubic"}, "kernel_core"),
    ({"kernel_core": "free"}, "free"),
    ({"num_kernels": 10**6, "key": jax.random.key(0)}, "num_kernels"),
    ({"s": -1.0}, "growth widths"),
])
def test_from_config_refuses_bad_rules_before_jax_work(kwargs, match):
    args = {"num_channels": 1, "kernel_core": "gaussian", **kwargs}
    with pytest.raises(ConfigError, match=match):
        LeniaRule.from_config(**args)


def test_creature_rule_arrays_are_what_both_families_take():
    c = _cax_lenia.load_cax_pattern("VT049W")
    arrays = c.rule_arrays()
    assert sorted(arrays) == ["b", "h", "m", "r", "s", "sources", "targets"] and len(arrays["m"]) == 15
    rule = LeniaRule.from_config(num_channels=3, kernel_core="gaussian", **arrays)
    _same(Lenia.from_creature(c).rule, rule)
    _same(cax_zoo.create("lenia/cax_vt049w").rule, rule)
    flow = cax_zoo.create("flow_lenia/orbium")
    _same(flow.rule, LeniaRule.from_config(num_channels=1, kernel_core="gaussian",
                                           **_cax_lenia.load_cax_pattern("Orbium").rule_arrays()))


# ----------------------------------------------------------------------------- the data
def test_cax_columns_and_catalogue_kernels_parse_alike():
    """A CAX pattern's rule columns, read kernel by kernel, give the same kernels as the
    catalogue parser fed the same numbers in its multi-channel form."""
    c = _cax_lenia.load_cax_pattern("5N7KKM")
    specs = [{"b": list(k.b) + [None], "m": k.m, "s": k.s, "h": k.h, "r": k.r, "c0": k.c0, "c1": k.c1}
             for k in c.kernels]
    assert cat.parse_kernels(specs, "here", c.num_channels) == c.kernels
    entry = {"code": "X", "name": "x", "params": {"R": 12, "T": 2, "kernels": specs},
             "cells": [np.asarray(c.cells[..., i]).tolist() for i in range(c.num_channels)]}
    parsed = cat.parse_entry(entry, dims=2)
    assert parsed.kernels == c.kernels
    np.testing.assert_array_equal(parsed.cells, c.cells)


@pytest.mark.parametrize("spec,match", [
    ({"b": "1", "m": 0.1, "s": 0.0}, "'s'.*> 0"),
    ({"b": "1", "m": 0.1, "s": 0.1, "c1": 2}, "c1"),
    ({"b": "1", "m": 0.1, "s": 0.1, "c0": 1.5}, "c0"),
    ({"b": [1.0, None, 0.5], "m": 0.1, "s": 0.1}, "null padding"),
    ({"b": "1", "m": float("nan"), "s": 0.1}, "finite"),
    ({"b": "1", "m": 0.1, "s": 0.1, "h": True}, "'h'"),
    ("kernel", "an object"),
])
def test_parse_kernel_errors_are_one_line_data_errors(spec, match):
    with pytest.raises(DataError, match=match) as e:
        cat.parse_kernel(spec, "kernel 0", 2)
    assert "\n" not in str(e.value)


def test_data_files_are_read_through_the_shared_checked_reader(tmp_path, monkeypatch, data_dir):
    folder = tmp_path / "lenia"
    folder.mkdir()
    (folder / "animals.json").mkdir()  # a directory where the file should be
    with pytest.raises(DataError, match="is a directory"):
        cat.read_catalogue(2, data=tmp_path)
    (folder / "animals3D.json").write_bytes((data_dir / "lenia" / "animals3D.json").read_bytes())
    monkeypatch.setattr(cat, "MAX_BYTES", 1000)
    with pytest.raises(DataError, match="the limit is 1000"):
        cat.read_catalogue(3, data=tmp_path)
    (folder / "cax_patterns.json").write_text("[" * 100 + "]" * 100)
    monkeypatch.setattr(_cax_lenia, "SHA256", __import__("hashlib").sha256(b"[" * 100 + b"]" * 100).hexdigest())
    with pytest.raises(DataError, match="nested 100 levels"):
        _cax_lenia.read_cax_patterns(data=tmp_path)
    with pytest.raises(DataError, match="no CAX Lenia patterns files"):
        _cax_lenia.read_cax_patterns(data=tmp_path / "nowhere")


def test_catalogue_download_is_verified_before_it_is_cached(tmp_path, monkeypatch, data_dir):
    """The shared downloader: a mirror serving the wrong bytes is refused and nothing is
    cached; the right bytes land in the cache and load (a file:// mirror, no network)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "animals3D.json").write_text(json.dumps([]))
    monkeypatch.setattr(cat, "URL", mirror.as_uri() + "/")
    monkeypatch.setenv("CAX_ZOO_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("CAX_ZOO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="could not download.*sha256"):
        cat.read_catalogue(3)
    assert not (tmp_path / "cache" / "lenia").exists() or not any((tmp_path / "cache" / "lenia").iterdir())
    (mirror / "animals3D.json").write_bytes((data_dir / "lenia" / "animals3D.json").read_bytes())
    assert len(cat.load_catalogue(3)) == 36
    assert (tmp_path / "cache" / "lenia" / "animals3D.json").is_file()
