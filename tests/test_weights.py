"""Saving and loading weights: round trips for every registered model, and every way a
weight folder can be broken is named in the error."""

import json
import shutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import cax_zoo
from cax_zoo import ConfigError, WeightsError
from cax_zoo._weights import read_manifest, sha256_file


def _leaves(module):
    return jax.tree_util.tree_leaves(eqx.filter(module, eqx.is_array))


@pytest.mark.parametrize("name", cax_zoo.list_models())
def test_round_trip_every_registered_model(name, tmp_path):
    key = jax.random.PRNGKey(7) if cax_zoo.get_entry(name).learned else None
    model = cax_zoo.create(name, key=key)
    folder = cax_zoo.save_pretrained(model, tmp_path / "m", name=name)
    assert {p.name for p in folder.iterdir()} >= {"model.safetensors", "config.json", "README.md"}
    back = cax_zoo.load_pretrained(folder)
    assert type(back) is type(model)
    assert back.config() == model.config()
    a, b = _leaves(model), _leaves(back)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # equal behaviour too, not only equal arrays
    assert eqx.tree_equal(eqx.filter(model, eqx.is_array), eqx.filter(back, eqx.is_array))


@pytest.mark.parametrize("name", cax_zoo.list_models(pretrained=True))
def test_released_models_load_and_verify(name):
    model = cax_zoo.load(name)
    assert isinstance(model, cax_zoo.AbstractAutomaton)
    manifest = read_manifest(cax_zoo.weights_root())
    folder = cax_zoo.weights_root() / name
    for filename, digest in manifest[name].items():
        assert sha256_file(folder / filename) == digest
    assert (folder / "README.md").read_text().strip()


class _Tiny(cax_zoo.AbstractGridAutomaton):
    """A module with real arrays for corruption tests."""

    w: jax.Array
    b: jax.Array
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(self, width: int = 3):
        self.w = jnp.arange(width * 2, dtype=jnp.float32).reshape(width, 2)
        self.b = jnp.ones((width,), jnp.float32)
        self.num_spatial_dims = 1
        self.num_channels = 1

    def step(self, state, input=None, *, key=None):
        return state

    def config(self):
        return {"width": int(self.w.shape[0])}

    def init_state(self, size=None, *, key=None):
        return jnp.zeros((4, 1))

    def render(self, state):
        return np.zeros((1, 4, 3), np.uint8)


@pytest.fixture(autouse=True)
def _registered_tiny():
    """Register the test family for each test, and leave the registry as it was."""
    from cax_zoo import _registry

    entries, families = dict(_registry._ENTRIES), dict(_registry._FAMILY_OF_CLASS)
    cax_zoo.register("test/tiny")(_Tiny)
    yield
    _registry._ENTRIES.clear()
    _registry._ENTRIES.update(entries)
    _registry._FAMILY_OF_CLASS.clear()
    _registry._FAMILY_OF_CLASS.update(families)


@pytest.fixture
def saved(tmp_path):
    return cax_zoo.save_pretrained(_Tiny(), tmp_path / "tiny")


def _rewrite(folder, arrays):
    """Replace the weight file as another tool would, and forget the sha256 that config.json
    records, so that the checks after the hash (keys, shapes, dtypes, values) are reached."""
    save_file(arrays, str(folder / "model.safetensors"))
    _forget_recorded_hash(folder)


def _forget_recorded_hash(folder):
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["weights_sha256"]
    (folder / "config.json").write_text(json.dumps(cfg))


def test_config_records_the_weights_hash_and_load_checks_it(saved):
    cfg = json.loads((saved / "config.json").read_text())
    assert cfg["weights_sha256"] == sha256_file(saved / "model.safetensors")
    arrays = load_file(str(saved / "model.safetensors"))
    arrays["w"] = arrays["w"] + 1  # a valid file with other values
    save_file(arrays, str(saved / "model.safetensors"))
    with pytest.raises(WeightsError, match="model.safetensors fails its sha256 check against config.json"):
        cax_zoo.load_pretrained(saved)
    _forget_recorded_hash(saved)  # a folder without the record (older cax_zoo) still loads
    np.testing.assert_array_equal(cax_zoo.load_pretrained(saved).w, arrays["w"])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(saved, bad):
    arrays = load_file(str(saved / "model.safetensors"))
    arrays["w"][1, 0] = bad
    _rewrite(saved, arrays)
    with pytest.raises(WeightsError, match=r"key 'w' holds 1 NaN or infinite value"):
        cax_zoo.load_pretrained(saved)


def test_keys_come_from_pytree_paths(saved):
    assert set(load_file(str(saved / "model.safetensors"))) == {"w", "b"}
    cfg = json.loads((saved / "config.json").read_text())
    assert cfg["family"] == "test/tiny" and cfg["config"] == {"width": 3} and cfg["schema_version"] == 1


def test_missing_key(saved):
    arrays = load_file(str(saved / "model.safetensors"))
    del arrays["b"]
    _rewrite(saved, arrays)
    with pytest.raises(WeightsError, match="missing key.*'b'"):
        cax_zoo.load_pretrained(saved)


def test_extra_key(saved):
    arrays = load_file(str(saved / "model.safetensors"))
    arrays["surplus"] = np.zeros(2, np.float32)
    _rewrite(saved, arrays)
    with pytest.raises(WeightsError, match="unexpected key.*'surplus'"):
        cax_zoo.load_pretrained(saved)


def test_wrong_shape(saved):
    arrays = load_file(str(saved / "model.safetensors"))
    arrays["w"] = np.zeros((3, 5), np.float32)
    _rewrite(saved, arrays)
    with pytest.raises(WeightsError, match=r"'w' has shape \(3, 5\).*expects \(3, 2\)"):
        cax_zoo.load_pretrained(saved)


def test_wrong_dtype(saved):
    arrays = load_file(str(saved / "model.safetensors"))
    arrays["w"] = arrays["w"].astype(np.float16)
    _rewrite(saved, arrays)
    with pytest.raises(WeightsError, match="'w' has dtype float16"):
        cax_zoo.load_pretrained(saved)


def test_config_override_that_changes_arrays_is_refused(saved):
    """Arrays come from the weight file only; an override that reshapes them is refused,
    naming the override and the arrays, instead of failing on a key's shape."""
    with pytest.raises(ConfigError, match=r"overriding width would change \.w, \.b, which the weight file holds"):
        cax_zoo.load_pretrained(saved, width=5)
    # a constructor that does not validate its config still ends in a ConfigError naming the model
    with pytest.raises(ConfigError, match=r"^test/tiny: invalid config \(Shapes must be"):
        cax_zoo.load_pretrained(saved, width=3.5)


@pytest.mark.parametrize("keep", [0, 7, 40, -3])
def test_truncated_file(saved, keep):
    """The parser itself (the recorded hash forgotten) names a truncated file; with the
    record, the hash check names it first."""
    path = saved / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:keep])  # the first `keep` bytes, or all but the last 3
    assert len(path.read_bytes()) == (keep if keep >= 0 else len(data) + keep)
    with pytest.raises(WeightsError, match="model.safetensors fails its sha256 check"):
        cax_zoo.load_pretrained(saved)
    _forget_recorded_hash(saved)
    with pytest.raises(WeightsError, match=r"corrupt or truncated weight file \S*model.safetensors"):
        cax_zoo.load_pretrained(saved)


def test_hash_mismatch_names_the_file(saved):
    good = cax_zoo._weights.folder_hashes(saved)
    cax_zoo.load_pretrained(saved, expected_sha256=good)
    path = saved / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # flip one bit of one weight: still a valid safetensors file
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="model.safetensors fails its sha256 check"):
        cax_zoo.load_pretrained(saved, expected_sha256=good)


@pytest.mark.parametrize(
    "text,match",
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('{"family": "test/tiny"}', "schema_version"),
     ('{"family": "nope", "schema_version": 1, "config": {}}', "unknown family 'nope'"),
     ('{"family": "test/tiny", "schema_version": 99, "config": {}}', "schema version 99")],
)
def test_bad_config_files(saved, text, match):
    (saved / "config.json").write_text(text)
    with pytest.raises(WeightsError, match=match):
        cax_zoo.load_pretrained(saved)


def test_missing_folder_and_files(tmp_path, saved):
    with pytest.raises(WeightsError, match="not found"):
        cax_zoo.load_pretrained(tmp_path / "nowhere")
    (saved / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="weight file not found"):
        cax_zoo.load_pretrained(saved)


def test_save_keeps_other_files_and_is_atomic(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    cax_zoo.save_pretrained(_Tiny(), folder)
    cax_zoo.save_pretrained(_Tiny(4), folder)
    assert (folder / "notes.txt").read_text() == "mine"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert cax_zoo.load_pretrained(folder).w.shape == (4, 2)


def test_release_records_hashes_and_load_verifies(tmp_path, monkeypatch):
    root = tmp_path / "weights"
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", str(root))
    cax_zoo.release(_Tiny(), "test/tiny", card="# tiny\n")
    assert cax_zoo.list_models("test/*", pretrained=True) == ["test/tiny"]
    model = cax_zoo.load("test/tiny")
    np.testing.assert_array_equal(model.w, _Tiny().w)
    # tamper with the released weights: load refuses, naming the file
    arrays = load_file(str(root / "test/tiny/model.safetensors"))
    arrays["w"] = arrays["w"] + 1
    save_file(arrays, str(root / "test/tiny/model.safetensors"))
    with pytest.raises(WeightsError, match="model.safetensors fails its sha256 check"):
        cax_zoo.load("test/tiny")
    # a folder with no manifest record is refused too
    shutil.copytree(root / "test/tiny", root / "test/other")
    cax_zoo.register("test/other")(lambda **kw: _Tiny(**kw))
    with pytest.raises(WeightsError, match="no sha256 record"):
        cax_zoo.load("test/other")


class _Bag(cax_zoo.AbstractGridAutomaton):
    """Arbitrary named arrays, rebuilt from a JSON spec (for the property test)."""

    arrays: dict
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    def __init__(self, spec: dict):
        self.arrays = {k: jnp.zeros(tuple(shape), dtype) for k, (shape, dtype) in spec.items()}
        self.num_spatial_dims = 1
        self.num_channels = 1

    def step(self, state, input=None, *, key=None):
        return state

    def config(self):
        return {"spec": {k: [list(v.shape), np.dtype(v.dtype).name] for k, v in self.arrays.items()}}

    def init_state(self, size=None, *, key=None):
        return jnp.zeros((4, 1), jnp.int8)

    def render(self, state):
        return np.zeros((1, 4, 3), np.uint8)


from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_dtypes = st.sampled_from(["float32", "int32", "uint8", "bool", "int8", "float16"])
_arrays = _dtypes.flatmap(lambda d: hnp.arrays(
    d, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    elements=dict(allow_nan=False, allow_infinity=False) if d.startswith("float") else None))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _arrays, min_size=1, max_size=4))
def test_round_trip_property(tmp_path_factory, arrays):
    cax_zoo.register("test/bag")(_Bag) if "test/bag" not in cax_zoo.list_models() else None
    bag = _Bag({k: [list(v.shape), v.dtype.name] for k, v in arrays.items()})
    bag = eqx.tree_at(lambda m: m.arrays, bag, {k: jnp.asarray(v) for k, v in arrays.items()})
    folder = cax_zoo.save_pretrained(bag, tmp_path_factory.mktemp("bag"))
    back = cax_zoo.load_pretrained(folder)
    assert set(back.arrays) == set(arrays)
    for k, v in arrays.items():
        assert back.arrays[k].dtype == v.dtype and back.arrays[k].shape == v.shape
        np.testing.assert_array_equal(np.asarray(back.arrays[k]), v)
