"""Fuzzing the inputs a user or a downloaded file controls (issue 15).

Property: every input ends in a clean ``CaxZooError`` (exit 2 at the CLI) or a valid
result, never another exception. Inputs: the CLI's arguments (``main(argv)`` in-process),
the loaders' bytes (safetensors, config JSON, 1D-ARC JSON, IDX/gzip, RLE, images) and
config dicts for every registered family through ``cax_zoo.create``.

Bounded for CI: ``derandomize=True`` (the same examples every run, so a failure
reproduces), small ``max_examples`` and a deadline per example; the file runs in well
under a minute on 2 cores.
"""

import gzip
import inspect
import io
import json
import struct
import zlib

import jax
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import cax_zoo
from cax_zoo import CaxZooError
from cax_zoo._cli import main
from cax_zoo._data._arc1d import read_task
from cax_zoo._data._mnist import read_idx
from cax_zoo._image_input import read_image
from cax_zoo._life_patterns import parse_rle
from cax_zoo._registry import _ENTRIES
from cax_zoo._weights import read_config, read_weights

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
QUICK = settings(FUZZ, max_examples=60, deadline=2000)


def clean(fn, *args, **kwargs):
    """Call ``fn``; a CaxZooError is a clean outcome (returned as None), anything else
    that is raised fails the property."""
    try:
        return fn(*args, **kwargs)
    except CaxZooError as e:
        text = str(e)
        assert text and "\n" not in text and len(text) < 1000, f"not a one-line error: {text!r}"
        return None


# ------------------------------------------------------------------ the CLI
MODELS = ["life", "elementary", "sandpile", "langton_ant", "life/highlife"]
VALID = {  # few distinct shapes and step counts, so compiled rollouts are reused
    "--size": st.sampled_from(["8", "12", "8x12", "16x16"]),
    "--steps": st.sampled_from(["0", "1", "3", "10"]),
    "--seed": st.integers(0, 2**32 - 1).map(str),
    "--every": st.sampled_from(["1", "2"]),
    "--fps": st.sampled_from(["5", "12.5", "100"]),
}
HOSTILE = {
    "name": st.sampled_from(["nosuch", "hf://../x", "lenia/nosuch", "", "../../etc", "a" * 300, "a\0b",
                             "/dev/zero", "x/" * 200]),
    "--size": st.one_of(
        st.sampled_from(["0", "-5x5", "1000000000x1000000000", "200000x200000", "8x8x8", "x", "", "5.5",
                         "99999999999999999999", "1e3", "8,8", "2147483648"]),
        st.text(alphabet="0123456789x-", max_size=8)),
    "--steps": st.sampled_from(["-1", str(2**31), str(2**32 + 1), str(10**30), "1.5", "nan"]),
    "--seed": st.sampled_from(["-1", str(2**32), str(-(2**63)), str(10**30), "x"]),
    "--every": st.sampled_from(["0", "-3", str(2**31), str(10**30)]),
    "--fps": st.sampled_from(["0", "nan", "-1", "inf", "1e308", ""]),
    "--rule": st.sampled_from(["-1", "B9/S", "", "zz", "1" * 400, "9" * 5000, "B3/S23/X", "RLQ", "256"]),
    "--config": st.sampled_from(["boundary=[1]", "key=1", "num_colours=1e6", "rule=null", "x", "=",
                                 "density=nan", "num_spatial_dims=99999999999", "R=1e9", "rule=" + "9" * 5000,
                                 "radius=64", "boundary=reflect", "num_spatial_dims=1", "grains=-1",
                                 "nosuch=1", "rule=" + "[" * 1000 + "]" * 1000]),
    "--out": st.sampled_from(["out.txt", "missing/out.png", "out", ".png", "out.PNG"]),
}


@st.composite
def run_argv(draw):
    """A run of a small model with valid options, and (most of the time) one hostile
    option or name among them."""
    options = {"name": draw(st.sampled_from(MODELS)), "--out": draw(st.sampled_from(["out.png", "out.npz", "out.gif"]))}
    for flag, strategy in VALID.items():
        if draw(st.booleans()):
            options[flag] = draw(strategy)
    if draw(st.integers(0, 3)) > 0:
        flag = draw(st.sampled_from(sorted(HOSTILE)))
        options[flag] = draw(HOSTILE[flag])
    argv = ["run", options.pop("name")]
    out = options.pop("--out")
    for flag, value in options.items():
        argv += [flag, value]
    return argv + [out]


@FUZZ
@given(argv=run_argv())
def test_cli_run_arguments(argv, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("cli")
    *head, out = argv
    argv = head + ["--no-progress", "--out", str(folder / out)]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refusing a malformed option: its usage line, exit 2
        code = e.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines and lines[-1].startswith("cax-zoo"), err  # one clean message, no traceback
        assert "Traceback" not in err
    else:
        assert (folder / out).is_file()


@FUZZ
@given(argv=st.lists(st.sampled_from(["list", "info", "eval", "push", "life", "--json", "--pretrained",
                                      "--repo-id", "../evil", "--limit", "-1", "nosuch", "*", "elementary",
                                      "--markdown", "--steps", "0", "--data", "/dev/null"]),
                     min_size=1, max_size=4))
def test_cli_other_commands(argv, capsys):
    if argv[0] == "push":  # never upload from a test
        argv = ["info"] + argv[1:]
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err


# ------------------------------------------------------------------ loaders' bytes
def _safetensors_bytes(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


SAFETENSORS = st.one_of(
    st.binary(max_size=300),
    st.builds(
        _safetensors_bytes,
        st.dictionaries(
            st.sampled_from(["w", "b", "__metadata__", "rule.m"]),
            st.fixed_dictionaries({
                "dtype": st.sampled_from(["F32", "F64", "I32", "U8", "BF16", "XX"]),
                "shape": st.lists(st.integers(-1, 2**40), max_size=3),
                "data_offsets": st.lists(st.integers(-1, 2**40), min_size=0, max_size=3),
            }),
            max_size=2,
        ),
        st.binary(max_size=64),
    ),
)


@QUICK
@given(payload=SAFETENSORS)
def test_safetensors_bytes(payload, tmp_path_factory):
    path = tmp_path_factory.mktemp("st") / "model.safetensors"
    path.write_bytes(payload)
    out = clean(read_weights, path)
    if out is not None:
        assert all(isinstance(v, np.ndarray) for v in out.values())


JSON_TEXT = st.one_of(
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                 lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                 max_leaves=20).map(json.dumps),
    st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(['{"family": "life", "schema_version": 1, "config": {"num_spatial_dims": 1e400}}',
                     '{"family": "life", "schema_version": 99999999999999999999, "config": {}}',
                     '{"family": "life", "schema_version": 1, "config": {"rule": ' + "9" * 5000 + "}}"]),
)


@QUICK
@given(text=JSON_TEXT)
def test_config_json_bytes(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "config.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = clean(read_config, path)
    if out is not None:
        assert isinstance(out, dict) and isinstance(out["config"], dict)


def _task_json(draw_rows):
    return json.dumps({"train": [{"input": [r], "output": [r]} for r in draw_rows],
                       "test": [{"input": [draw_rows[0]], "output": [draw_rows[0]]}]})


ARC_TEXT = st.one_of(
    JSON_TEXT,
    st.lists(st.lists(st.one_of(st.integers(-2, 12), st.sampled_from([10**30, True, None, 1.5, "3"])),
                      min_size=0, max_size=6), min_size=1, max_size=3).map(_task_json),
)


@QUICK
@given(text=ARC_TEXT)
def test_arc1d_task_bytes(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("arc") / "1d_fill_7.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    task = clean(read_task, path)
    if task is not None:
        assert task.train and task.test
        assert all(0 <= g.min() and g.max() <= 9 for pair in task.train + task.test for g in pair)


def _idx(magic: bytes, dims: list[int], data: bytes) -> bytes:
    return magic + b"".join(struct.pack(">I", d) for d in dims) + data


IDX_RAW = st.one_of(
    st.binary(max_size=100),
    st.builds(_idx, st.sampled_from([b"\x00\x00\x08\x01", b"\x00\x00\x08\x03", b"\x00\x00\x0d\x03", b"\x01\x00\x08\x01"]),
              st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 5), max_size=3), st.binary(max_size=60)),
)


@QUICK
@given(raw=IDX_RAW, how=st.sampled_from(["gzip", "raw", "cut"]))
def test_idx_gzip_bytes(raw, how, tmp_path_factory):
    path = tmp_path_factory.mktemp("idx") / "x.gz"
    payload = gzip.compress(raw) if how != "raw" else raw
    path.write_bytes(payload[: len(payload) // 2] if how == "cut" else payload)
    arr = clean(read_idx, path, max_bytes=1 << 16)
    if arr is not None:
        assert arr.dtype == np.uint8 and arr.ndim in (1, 3)


RLE_TEXT = st.one_of(
    st.text(alphabet="0123456789bo$!xy=, \n#rule/BS", max_size=80),
    st.builds(lambda w, h, body: f"x = {w}, y = {h}\n{body}",
              st.integers(0, 10**12), st.integers(0, 10**12),
              st.text(alphabet="0123456789bo$!", max_size=30)),
)


@QUICK
@given(text=RLE_TEXT)
def test_rle_text(text):
    pattern = clean(parse_rle, text)
    if pattern is not None:
        assert pattern.cells.dtype == np.uint8 and set(np.unique(pattern.cells)) <= {0, 1}


def _png(width, height, mode, seed) -> bytes:
    rng = np.random.default_rng(seed)
    bands = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    arr = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr[..., 0] if bands == 1 else arr, mode).save(buf, format="PNG")
    return buf.getvalue()


def _header_png(width, height) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


IMAGE_BYTES = st.one_of(
    st.binary(max_size=200),
    st.builds(_png, st.integers(1, 40), st.integers(1, 40), st.sampled_from(["L", "RGB", "RGBA", "LA"]),
              st.integers(0, 1000)),
    st.builds(_header_png, st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)),
    st.builds(lambda b, i, v: b[:i] + bytes([v]) + b[i + 1:],
              st.builds(_png, st.just(16), st.just(16), st.just("RGB"), st.just(1)),
              st.integers(0, 200), st.integers(0, 255)),
)


@QUICK
@given(payload=IMAGE_BYTES)
def test_image_bytes(payload, tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "x.png"
    path.write_bytes(payload)
    img = clean(read_image, path)
    if img is not None:
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[-1] == 4 and min(img.shape[:2]) >= 8


# ------------------------------------------------------------------ config dicts
FAMILIES = sorted(n for n, e in _ENTRIES.items() if e.family is not None)
JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300),
    st.sampled_from([10**12, -(10**12), 2**31, 2**63, 1e6, 1e300, float("nan"), float("inf"), 0.5, -0.0]),
    st.sampled_from(["", "periodic", "zero", "B3/S23", "RL", "x" * 300, "gaussian", "learned", "fixed"]),
    st.lists(st.integers(-2, 5) | st.floats(-2, 5), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)


def _fields(name: str) -> list[str]:
    params = inspect.signature(_ENTRIES[name].factory).parameters
    return [p for p in params if p not in ("key", "self")] + ["nosuch_field"]


@st.composite
def family_config(draw):
    name = draw(st.sampled_from(FAMILIES))
    fields = _fields(name)
    keys = draw(st.lists(st.sampled_from(fields), unique=True, max_size=3))
    return name, {k: draw(JSON_VALUES) for k in keys}


@settings(FUZZ, max_examples=120)
@given(case=family_config())
def test_config_dicts_for_every_family(case):
    name, config = case
    key = jax.random.PRNGKey(0) if _ENTRIES[name].takes_key else None
    if key is not None:
        config = {**config, "key": key}
    model = clean(cax_zoo.create, name, **config)
    if model is not None:
        assert isinstance(model, cax_zoo.AbstractAutomaton)
        json.dumps(model.config())  # what a release would write must be JSON


LENIA_RLE = st.text(alphabet="0123456789.boABXpqyO$%#!x=,y \n", max_size=60)


@QUICK
@given(text=LENIA_RLE, dims=st.sampled_from([2, 3]))
def test_lenia_catalogue_rle_text(text, dims):
    from cax_zoo._data._lenia_catalogue import parse_rle as parse_lenia_rle

    cells = clean(parse_lenia_rle, text, dims)
    if cells is not None:
        assert np.all(np.isfinite(cells))


# ------------------------------------------------------------------ states
STATE_FAMILIES = ["life", "elementary", "sandpile", "lenia", "reaction_diffusion"]
BAD_SHAPES = [(8,), (8, 8), (0, 8, 1), (1, 1, 32, 32, 1), (32, 32, 5)]
DTYPES = [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64, np.complex64]
FILL = [0, 1, 3, -1, 255, 256, 2**31 - 1, 2**32 + 1, 0.5, 1.5, float("nan"), float("inf")]


@settings(FUZZ, max_examples=60)
@given(name=st.sampled_from(STATE_FAMILIES), layout=st.sampled_from(["one", "one", "batch", "bad"]),
       bad_shape=st.sampled_from(BAD_SHAPES), dtype=st.sampled_from(DTYPES),
       fill=st.sampled_from(FILL), spot=st.sampled_from(FILL), steps=st.sampled_from([0, 1, 2]))
def test_states_for_grid_families(name, layout, bad_shape, dtype, fill, spot, steps):
    """Any array as a state: refused with a StateError, or run to a finite state (NaN,
    inf and values that would wrap are refused before the rollout)."""
    model = cax_zoo.create(name)
    one = (32,) * model.num_spatial_dims + (model.num_channels,)
    shape = {"one": one, "batch": (2,) + one, "bad": bad_shape}[layout]
    with np.errstate(all="ignore"):
        state = np.full(shape, fill).astype(dtype)
        if state.size:
            state.flat[state.size // 2] = np.asarray(spot).astype(dtype)
    out = clean(model.rollout, state, steps)
    if out is not None:
        out = np.asarray(out)
        assert out.shape == shape
        assert np.isfinite(out.astype(np.float64)).all()
