"""Input validation (issue 15): one regression test per case of its classes.

Configs bounded and typed, memory bombs refused with the estimate, NaN/inf and wrapping
states refused, images read with bounds, dataset files read with bounds, RLE bounded.
Every case must end in a one-line CaxZooError (exit 2 at the CLI), never a traceback.
"""

import gzip
import json
import os
import struct
import zlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import cax_zoo
from cax_zoo import ConfigError, DataError, RuleError, StateError, WeightsError
from cax_zoo._cli import main
from cax_zoo._data import _files
from cax_zoo._data._arc1d import read_task
from cax_zoo._data._mnist import FILES, load_mnist, read_idx
from cax_zoo._families._mnist_self_classify._images import image_to_digit
from cax_zoo._image_input import check_image, read_image, to_grey
from cax_zoo._life_patterns import parse_rle
from cax_zoo._registry import _ENTRIES
from cax_zoo._resources import check_memory, device_memory_bytes, format_bytes, host_memory_bytes
from cax_zoo._validation import check_config, check_int, parse_json

KEY = jax.random.PRNGKey(0)


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text and len(text) < 400, text
    return text


def run_cli(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


# ------------------------------------------------------------------ configs
def test_config_step_counts_are_bounded():
    """``default_steps: 2000000000`` hung classify; ``10**12`` overflowed."""
    for steps in (2_000_000_000, 10**12):
        with pytest.raises(ConfigError, match="default_steps") as e:
            cax_zoo.create("mnist_self_classify", key=KEY, default_steps=steps)
        one_line(e)


def test_config_hidden_units_bounded_before_allocating():
    """``hidden_units: 1e6`` tried to allocate 400 GB."""
    with pytest.raises(ConfigError, match="hidden_units") as e:
        cax_zoo.create("mnist_self_classify", key=KEY, hidden_units=1e6)
    one_line(e)


@pytest.mark.parametrize("name, config, field", [
    ("life", {"num_spatial_dims": 10**12}, "num_spatial_dims"),
    ("sandpile", {"num_spatial_dims": 10**12}, "num_spatial_dims"),
    ("sandpile", {"boundary": ["zero"]}, "boundary"),
    ("life", {"boundary": {"a": 1}}, "boundary"),
    ("elementary", {"radius": 10**12}, "radius"),
    ("elementary", {"num_colours": 10**6}, "num_colours"),
    ("elementary", {"totalistic": 1}, "totalistic"),
    ("elementary", {"rule": "9" * 20_000}, "rule"),
    ("life", {"rule": "B" + "9" * 5000 + ",/S"}, "rule"),
])
def test_classic_family_configs_are_typed_and_bounded(name, config, field):
    with pytest.raises((ConfigError, RuleError), match=field) as e:
        cax_zoo.create(name, **config)
    one_line(e)


def test_huge_elementary_rule_codes_are_cheap_to_refuse():
    # a rule of thousands of digits neither hangs the digit loop nor breaks int -> str
    with pytest.raises(RuleError, match="out of range") as e:
        cax_zoo.Elementary(10**4000)
    one_line(e)
    m = cax_zoo.Elementary(2**128 - 1, radius=3)  # k=2, r=3: 2**128 rules, all valid
    assert m.table.sum() == 128


def test_check_config_is_the_generic_guard():
    assert check_config("life", {"rule": "B3/S23", "x": [1, {"y": None}]}) == {
        "rule": "B3/S23", "x": [1, {"y": None}]}
    with pytest.raises(ConfigError, match="'steps' must be finite"):
        check_config("life", {"steps": float("nan")})
    with pytest.raises(ConfigError, match="nested more than"):
        nested: list = []
        for _ in range(40):
            nested = [nested]
        check_config("life", {"deep": nested})
    with pytest.raises(ConfigError, match="JSON value"):
        check_config("life", {"f": object()})
    with pytest.raises(ConfigError, match="unknown config field.*'colour'.*accepted: boundary"):
        check_config("life", {"colour": 1}, cax_zoo.Life)
    with pytest.raises(ConfigError, match="JSON object"):
        check_config("life", [1, 2])
    assert check_int("n", 3.0) == 3
    with pytest.raises(ConfigError, match="n must be <= 10"):
        check_int("n", 11, maximum=10)


@pytest.mark.parametrize("name", sorted(n for n, e in _ENTRIES.items() if e.family is not None))
def test_every_family_config_passes_the_generic_guard_and_rebuilds(name):
    """check_config accepts what each family writes to config.json, and the validators
    accept it back (so a release always reloads)."""
    entry = _ENTRIES[name]
    key = KEY if entry.takes_key else None
    model = cax_zoo.create(name, key=key) if key is not None else cax_zoo.create(name)
    config = json.loads(json.dumps(model.config()))  # as read from config.json
    assert check_config(name, config, entry.factory) == config
    # rebuilt as a release is: a key only for learned families (the rest is the skeleton)
    again = cax_zoo.create(name, key=KEY, **config) if entry.learned else cax_zoo.create(name, **config)
    assert again.config() == model.config()


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "nested 100000 levels"),
    ('{"rule": ' + "7" * 5000 + "}", "not valid JSON"),
    ('{"a": NaN}', "not valid JSON"),
    (b"\xff\xfe", "UTF-8"),
])
def test_parse_json_refuses_hostile_text(text, match):
    with pytest.raises(ConfigError, match=match) as e:
        parse_json(text, what="config.json")
    one_line(e)


def _saved_life(tmp_path: Path) -> Path:
    folder = cax_zoo.save_pretrained(cax_zoo.create("life"), tmp_path / "life")
    return Path(folder)


@pytest.mark.parametrize("tamper, match", [
    (lambda c: c["config"].update(num_spatial_dims=10**12), "num_spatial_dims"),
    (lambda c: c["config"].update(colour="red"), "unknown config field"),
    (lambda c: c["config"].update(rule=[[[[[[[[[[[[[[[[[["B3/S23"]]]]]]]]]]]]]]]]]]), "nested"),
])
def test_saved_config_json_goes_through_the_validators(tmp_path, tamper, match):
    folder = _saved_life(tmp_path)
    data = json.loads((folder / "config.json").read_text())
    tamper(data)
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises((ConfigError, WeightsError), match=match) as e:
        cax_zoo.load_pretrained(folder)
    one_line(e)


def test_config_json_nested_100000_deep_is_a_clean_error(tmp_path):
    folder = _saved_life(tmp_path)
    (folder / "config.json").write_text('{"family": "life", "config": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(WeightsError, match="nested") as e:
        cax_zoo.load_pretrained(folder)
    one_line(e)


# ------------------------------------------------------------------ memory
def test_memory_limit_is_read_from_the_machine():
    ram = host_memory_bytes()
    assert ram is not None and ram > 1 << 28  # some hundreds of MiB at least
    assert device_memory_bytes() is not None
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3) == "3 B"
    assert check_memory(10, "x", limit=10) == 10
    with pytest.raises(StateError, match=r"a test buffer needs about 1.0 KiB but .* has 1000 B"):
        check_memory(1024, "a test buffer", limit=1000)


@pytest.mark.parametrize("size", ["1000000000x1000000000", "200000x200000"])
def test_cli_memory_bombs_exit_2_with_the_estimate(size, tmp_path, capsys):
    code, err = run_cli(["run", "life", "--size", size, "--steps", "1", "--no-progress",
                         "--out", str(tmp_path / "o.png")], capsys)
    assert code == 2
    assert "needs about" in err and ("GiB" in err or "PiB" in err)
    assert err.count("\n") == 1 and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("name", ["sandpile", "elementary", "langton_ant", "lenia", "growing_nca/lizard"])
def test_init_state_refuses_what_memory_cannot_hold(name):
    model = cax_zoo.load(name)
    size = 10**13 if name == "elementary" else (10**9, 10**9)  # 1-D: beyond int32 extents
    with pytest.raises(StateError) as e:
        model.init_state(size)
    one_line(e)


def test_trajectory_memory_is_checked_before_the_rollout():
    life = cax_zoo.create("life")
    with pytest.raises(StateError, match="trajectory of 1000000001 states needs about"):
        life.rollout(jnp.zeros((64, 64, 1), jnp.uint8), 10**9, trajectory=True)


@pytest.mark.parametrize("size", ["8x8", 8.0, True, (8, 0), (8, 8, 8), [8, "8"]])
def test_init_state_sizes_are_typed(size):
    for name in ("life", "sandpile", "langton_ant"):
        with pytest.raises(StateError, match="size") as e:
            cax_zoo.create(name).init_state(size)
        one_line(e)


# ------------------------------------------------------------------ states
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_continuous_states_refuse_nan_and_inf(bad):
    for name in ("lenia", "growing_nca/lizard"):
        model = cax_zoo.load(name)
        state = np.array(model.init_state(32 if name == "lenia" else None)).copy()
        state[1, 1, 0] = bad
        with pytest.raises(StateError, match="NaN or infinite"):
            model.rollout(state, 1)
        with pytest.raises(StateError, match="NaN or infinite"):  # device arrays too
            model.rollout(jnp.asarray(state), 1)


def test_mnist_state_with_nan_is_refused_not_voted_class_0():
    m = cax_zoo.load("mnist_self_classify")
    state = np.array(m.initial_state(np.zeros((28, 28), np.uint8))).copy()
    state[5, 5, 0] = np.nan
    with pytest.raises(StateError, match="NaN"):
        m.rollout(state, 1)
    with pytest.raises(StateError):
        m.classify(np.full((28, 28), np.nan, np.float32))


def test_value_checks_leave_jit_and_grad_working():
    model = cax_zoo.load("growing_nca/lizard")
    s0 = model.init_state()
    g = jax.grad(lambda s: model.rollout(s, 2).sum())(s0)
    assert g.shape == s0.shape and bool(jnp.isfinite(g).all())
    pile = cax_zoo.create("sandpile")
    out = jax.jit(lambda s: pile.rollout(s, 3))(jnp.full((5, 5, 1), 7, jnp.int32))
    assert out.shape == (5, 5, 1) and 0 < int(out.sum()) <= 5 * 5 * 7


@pytest.mark.parametrize("grains, match", [(2**32 + 1, "values in"), (2**31 - 1, "values in"), (-1, "negative")])
def test_sandpile_refuses_grains_that_would_wrap_or_are_negative(grains, match):
    pile = cax_zoo.create("sandpile")
    with pytest.raises(StateError, match=match):
        pile.rollout(np.full((4, 4, 1), grains, np.int64), 1)
    with pytest.raises(StateError):
        pile.init_state(8, grains=grains)
    # the largest accepted pile cannot overflow while it topples
    top = 2**31 - 1 - pile.threshold
    out = pile.rollout(np.full((3, 3, 1), top, np.int64), 2)
    assert int(out.max()) <= top and int(out.min()) >= 0


def test_discrete_states_refuse_values_that_would_wrap_when_cast():
    with pytest.raises(StateError, match="0..1"):
        cax_zoo.create("elementary").rollout(np.array([[0], [2], [1]], np.int64), 1)
    with pytest.raises(StateError, match="beyond int32"):
        ant = cax_zoo.create("langton_ant")
        s = ant.init_state(8)
        ant.rollout(s._replace(position=np.array([2**40, 3], np.int64)), 1)
    # Life keeps its meaning for any integer: non-zero is alive
    life = cax_zoo.create("life")
    assert int(life.rollout(np.full((4, 4, 1), 256, np.int64), 0).min()) == 1


# ------------------------------------------------------------------ images
def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A tiny PNG file whose header announces a huge image (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (5000, 5000)])
def test_decompression_bomb_image_is_refused(tmp_path, width, height, capsys):
    path = _png_header_only(tmp_path / "bomb.png", width, height)
    with pytest.raises(StateError) as e:
        read_image(path)
    one_line(e)
    code, err = run_cli(["run", "mnist_self_classify", "--image", str(path), "--steps", "1",
                         "--no-progress", "--out", str(tmp_path / "o.png")], capsys)
    assert code == 2 and "bomb.png" in err


@pytest.mark.parametrize("shape", [(1, 1), (1, 100_000), (100_000, 1), (8, 1000)])
def test_degenerate_images_are_refused(tmp_path, shape):
    path = tmp_path / "thin.png"
    Image.fromarray(np.zeros(shape, np.uint8)).save(path)
    with pytest.raises(StateError, match="pixels") as e:
        read_image(path)
    one_line(e)
    with pytest.raises(StateError, match="pixels"):
        image_to_digit(np.zeros(shape, np.uint8))


def test_image_reader_returns_rgba_for_every_mode(tmp_path):
    grey = (np.arange(16 * 12).reshape(16, 12) % 256).astype(np.uint8)
    for mode in ("L", "RGB", "P", "LA", "I;16", "CMYK", "1"):
        Image.fromarray(grey).convert(mode).save(tmp_path / f"x_{mode.replace(';', '')}.tiff")
        x = read_image(tmp_path / f"x_{mode.replace(';', '')}.tiff")
        assert x.shape == (16, 12, 4) and x.dtype == np.uint8
    for bad in (tmp_path, tmp_path / "missing.png"):
        with pytest.raises(StateError):
            read_image(bad)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    with pytest.raises(StateError, match="cannot read"):
        read_image(tmp_path / "junk.png")


def test_rgba_digit_on_transparent_background_keeps_its_digit(tmp_path):
    """A white digit on a transparent canvas composited onto white was blank (label -1)."""
    from cax_zoo._families._mnist_self_classify._images import draw_digit

    digit = draw_digit(7)  # white on black, uint8 (28, 28)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3] = 255  # white ink everywhere; only alpha draws the digit
    rgba[..., 3] = digit
    Image.fromarray(rgba, "RGBA").save(tmp_path / "seven.png")
    got = image_to_digit(read_image(tmp_path / "seven.png"))
    np.testing.assert_allclose(got.astype(int), digit.astype(int), atol=1)
    # a black digit on a transparent (black-RGB) canvas goes onto white, then is inverted
    rgba[..., :3] = 0
    np.testing.assert_allclose(image_to_digit(rgba).astype(int), digit.astype(int), atol=1)
    assert to_grey(np.dstack([digit, digit, digit])).max() == 1.0  # no alpha: plain grey
    with pytest.raises(StateError, match="NaN"):
        check_image(np.full((10, 10), np.nan))


# ------------------------------------------------------------------ dataset files
def _mnist_folder(tmp_path: Path, data_dir: Path, **replace: bytes) -> Path:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in FILES.values():
        if name in replace:
            (folder / name).write_bytes(replace[name])
        else:
            os.symlink(data_dir / "mnist" / name, folder / name)
    return folder


def test_mnist_gzip_bomb_is_refused_while_streaming(tmp_path, data_dir):
    bomb = gzip.compress(b"\x00" * (64 << 20), compresslevel=1)  # 64 MiB of zeros in ~64 KiB
    folder = _mnist_folder(tmp_path, data_dir, **{FILES[("test", "images")]: bomb})
    with pytest.raises(DataError, match="decompresses to more than 7840016 bytes") as e:
        load_mnist("test", data=tmp_path)
    one_line(e)
    with pytest.raises(DataError, match="gzip bomb"):
        read_idx(folder / FILES[("test", "images")], max_bytes=1 << 20)


def test_partial_mnist_folder_names_the_missing_file(tmp_path, data_dir, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for kind in ("images", "labels"):
        os.symlink(data_dir / "mnist" / FILES[("test", kind)], folder / FILES[("test", kind)])
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"):
        load_mnist("test", data=tmp_path)
    monkeypatch.setenv("CAX_ZOO_DATA", str(tmp_path))
    with pytest.raises(DataError, match="holds only part of MNIST"):
        load_mnist("test")


def test_idx_reader_refuses_non_files(tmp_path):
    with pytest.raises(DataError, match="directory"):
        read_idx(tmp_path)
    with pytest.raises(DataError, match="not a regular file"):
        read_idx("/dev/zero")


def _task(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "nested 100000 levels"),
    ('{"train": [{"input": [[' + "5" * 5000 + ']], "output": [[1]]}], "test": []}', "not valid JSON"),
    ('{"train": [{"input": [[' + "7" * 1000 + ']], "output": [[1]]}], "test": [{"input": [[1]], "output": [[1]]}]}',
     "an integer of"),
    ('{"train": [{"input": [[' + "0," * 200_000 + '0]], "output": [[1]]}], "test": []}', "cells; the limit"),
    ("[0]" + " " * (2 << 20), "bytes; the limit"),
])
def test_arc1d_hostile_task_files(tmp_path, text, match):
    path = _task(tmp_path / "1d_fill_1.json", text)
    with pytest.raises(DataError, match=match) as e:
        read_task(path)
    one_line(e)


def test_arc1d_directory_or_device_as_task_file(tmp_path):
    (tmp_path / "1d_fill_2.json").mkdir()
    with pytest.raises(DataError, match="directory"):
        read_task(tmp_path / "1d_fill_2.json")
    os.symlink("/dev/zero", tmp_path / "1d_fill_3.json")
    with pytest.raises(DataError, match="not a regular file"):
        read_task(tmp_path / "1d_fill_3.json")


def test_download_helper_verifies_and_writes_atomically(tmp_path):
    good, bad = tmp_path / "good.bin", tmp_path / "bad.bin"
    good.write_bytes(b"payload")
    bad.write_bytes(b"tampered")
    want = _files.digest(b"payload", "sha256")
    verify = lambda b: None if _files.digest(b, "sha256") == want else "sha256 mismatch"  # noqa: E731
    dest = tmp_path / "cache" / "x.bin"
    _files.download([bad.as_uri(), (tmp_path / "none").as_uri(), good.as_uri()], dest,
                    max_bytes=100, verify=verify, what="x")
    assert dest.read_bytes() == b"payload" and sorted(os.listdir(dest.parent)) == ["x.bin"]
    big = tmp_path / "big.bin"
    big.write_bytes(b"p" * 200)
    with pytest.raises(DataError, match="sha256 mismatch.*more than the limit of 100 bytes") as e:
        _files.download([bad.as_uri(), big.as_uri()], tmp_path / "y.bin", max_bytes=100,
                        verify=verify, what="y")
    one_line(e)
    assert not (tmp_path / "y.bin").exists()


def test_gunzip_refuses_truncated_streams():
    payload = gzip.compress(b"abc" * 1000)
    assert _files.gunzip(payload, max_bytes=3000, what="x") == b"abc" * 1000
    with pytest.raises(DataError, match="more than 2999"):
        _files.gunzip(payload, max_bytes=2999, what="x")
    with pytest.raises(DataError, match="truncated"):
        _files.gunzip(payload[:-12], max_bytes=3000, what="x")


# ------------------------------------------------------------------ RLE
@pytest.mark.parametrize("text, match", [
    ("x = 3, y = 3\n9999999999o!", "run count"),
    ("x = 3, y = 3\n" + "9" * 5000 + "o!", "run count"),
    ("x = 99999999999, y = 3\no!", "x and y"),
    ("x = 100000, y = 100000\no!", "the limit is 268435456 cells"),
    ("x = 3, y = 3, rule = B" + "3" * 5000 + "/S23\no!", "rule"),
])
def test_rle_refuses_huge_counts_and_headers_before_allocating(text, match):
    with pytest.raises(RuleError, match=match) as e:
        parse_rle(text)
    one_line(e)


# ------------------------------------------------------------------ found beyond the list
def test_step_counts_beyond_int32_are_refused_not_overflowed():
    pile = cax_zoo.create("sandpile")
    with pytest.raises(StateError, match="max_steps"):
        pile.stabilise(pile.init_state(8), max_steps=2**40)
    with pytest.raises(StateError, match="num_steps must be <= 2147483647"):
        pile.rollout(pile.init_state(8), 2**40)


@pytest.mark.parametrize("name", ["elementary", "sandpile", "life", "langton_ant"])
@pytest.mark.parametrize("key", ["x", 5, np.zeros(3, np.float32)])
def test_init_state_keys_are_checked(name, key):
    with pytest.raises(StateError, match="PRNG key"):
        cax_zoo.create(name).init_state(8, key=key)


@pytest.mark.parametrize("size", [10**6, (10**5, 10**5), "8x8", (3, -1)])
def test_place_refuses_grids_memory_cannot_hold_or_bad_sizes(size):
    with pytest.raises(StateError, match="size|needs about") as e:
        cax_zoo.place("glider", size)
    one_line(e)


@pytest.mark.parametrize("argv", [
    ["run", "life", "--config", "rule=" + "9" * 5000],  # int() beyond 4300 digits
    ["run", "a" * 300],  # a name too long to be a path
    ["run", "a\0b"],
    ["run", "elementary", "--rule", "9" * 5000],
    ["run", "life", "--config", "rule=" + "[" * 5000 + "]" * 5000],
])
def test_cli_hostile_strings_exit_2(argv, tmp_path, capsys):
    code, err = run_cli(argv + ["--out", str(tmp_path / "o.png")], capsys)
    assert code == 2 and err.startswith("cax-zoo: error:") and err.count("\n") == 1, err


def test_neighbourhoods_and_kernels_are_bounded():
    with pytest.raises(ConfigError, match="the limit is 65536"):
        cax_zoo.neighbourhood_offsets("moore", 64, 6)
    with pytest.raises(ConfigError, match="num_spatial_dims must be <= 8"):
        cax_zoo.kernel_stack(["identity"], 40)
