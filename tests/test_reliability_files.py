"""Reliability of everything that reads or writes files: the Hub cache, released weights,
manifests, checkpoints, outputs, locks and the command line's arguments (issue 15's
security, data-loss, silent-wrong-result and crash cases, one regression test each)."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load_file, save_file

import cax_zoo
from cax_zoo import ConfigError, HubError, StateError, UnknownModelError, WeightsError
from cax_zoo._atomic import FolderLock, atomic_write_bytes
from cax_zoo._cli import main
from cax_zoo.training import load_checkpoint, save_checkpoint

from test_hub import RecordingApi, populate_cache


def _one_line_error(capsys, code: int, *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err
    return err


@pytest.fixture
def highlife(tmp_path):
    return cax_zoo.save_pretrained(cax_zoo.create("life", rule="B36/S23"), tmp_path / "highlife",
                                   name="highlife", card="# HighLife\n")


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty weights root as $CAX_ZOO_WEIGHTS."""
    r = tmp_path / "weights"
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", str(r))
    return r


# ------------------------------------------------------------------ security: the Hub


@pytest.mark.parametrize("revision", ["../../../../x", "main/../../x", "/etc", "a//b", "v1.lock", "x" * 300, 5])
def test_bad_hub_revisions_are_refused_before_any_lookup(hf_cache, highlife, revision):
    populate_cache(hf_cache, "someone/rev", highlife, "1" * 40)
    with pytest.raises(HubError, match="invalid Hub revision"):
        cax_zoo.load("hf://someone/rev", revision=revision)


def test_revision_cannot_reach_a_model_outside_the_cache(hf_cache, highlife, tmp_path):
    """The attack of the issue: a ref file outside the cache, named by a ../ revision."""
    populate_cache(hf_cache, "someone/esc", highlife, "2" * 40)
    (tmp_path / "x").write_text("2" * 40)
    depth = "../" * (len(hf_cache.parts) + 3)
    with pytest.raises(HubError, match="invalid Hub revision"):
        cax_zoo.load("hf://someone/esc", revision=depth + str(tmp_path / "x").lstrip("/"))


def test_snapshot_file_resolving_outside_the_cache_is_refused(hf_cache, highlife, tmp_path):
    snap = populate_cache(hf_cache, "someone/outside", highlife, "3" * 40)
    elsewhere = tmp_path / "elsewhere.safetensors"
    shutil.copy(highlife / "model.safetensors", elsewhere)
    (snap / "model.safetensors").unlink()
    os.symlink(elsewhere, snap / "model.safetensors")
    with pytest.raises(WeightsError, match="resolves outside the Hub cache"):
        cax_zoo.load("hf://someone/outside")


def test_flipped_byte_in_a_cached_weight_blob_is_refused(hf_cache, tmp_path):
    """A valid safetensors file with one weight changed: the blob's sha256 name gives it away."""
    module = cax_zoo.create("lenia/orbium")
    folder = cax_zoo.save_pretrained(module, tmp_path / "orbium")
    snap = populate_cache(hf_cache, "someone/orbium", folder, "4" * 40)
    assert cax_zoo.load("hf://someone/orbium").R == module.R
    blob = Path(os.path.realpath(snap / "model.safetensors"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="cached model.safetensors fails its hash check"):
        cax_zoo.load("hf://someone/orbium")


def test_hub_weights_checked_against_the_pushed_config_record(hf_cache, highlife):
    """A cache without content-addressed blobs (plain files) falls back on the sha256 that
    push_to_hub wrote into config.json; without either, loading is refused."""
    api = RecordingApi()
    staged = {}

    def upload_folder(**kw):
        staged.update({p.name: p.read_bytes() for p in Path(kw["folder_path"]).iterdir()})
        return "https://huggingface.co/someone/plain/commit/0"

    api.upload_folder = upload_folder
    cax_zoo.push_to_hub(highlife, "someone/plain", api=api)
    pushed = json.loads(staged["config.json"])
    assert pushed["weights_sha256"] == hashlib.sha256(staged["model.safetensors"]).hexdigest()
    snap = hf_cache / "models--someone--plain" / "snapshots" / ("5" * 40)
    snap.mkdir(parents=True)
    (hf_cache / "models--someone--plain" / "refs").mkdir()
    (hf_cache / "models--someone--plain" / "refs" / "main").write_text("5" * 40)
    for name, data in staged.items():
        (snap / name).write_bytes(data)
    assert cax_zoo.load("hf://someone/plain").rule == "B36/S23"
    weights = bytearray(staged["model.safetensors"])
    weights[-1] ^= 0x01
    (snap / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(WeightsError, match="fails its sha256 check against config.json"):
        cax_zoo.load("hf://someone/plain")
    del pushed["weights_sha256"]
    (snap / "config.json").write_text(json.dumps(pushed))
    with pytest.raises(WeightsError, match="cannot be verified"):
        cax_zoo.load("hf://someone/plain")


def test_non_finite_released_weights_are_refused(root):
    cax_zoo.release(cax_zoo.create("lenia/orbium"), "lenia/orbium", card="# o\n")
    folder = root / "lenia" / "orbium"
    arrays = load_file(str(folder / "model.safetensors"))
    key = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size)
    arrays[key].flat[0] = np.nan
    save_file(arrays, str(folder / "model.safetensors"))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["weights_sha256"] = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(cfg))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["lenia/orbium"] = cax_zoo._weights.folder_hashes(folder)
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="NaN or infinite"):
        cax_zoo.load("lenia/orbium")


@pytest.mark.parametrize("repo_id", ["../evil", "a/../b", "someone/x.git", "a--b/c", "one/two/three", "/abs"])
def test_push_refuses_bad_repo_ids(highlife, capsys, repo_id):
    api = RecordingApi()
    with pytest.raises(HubError, match="invalid Hub repo id"):
        cax_zoo.push_to_hub(highlife, repo_id, api=api)
    assert api.calls == []
    _one_line_error(capsys, main(["push", str(highlife), "--repo-id", repo_id]), "invalid Hub repo id")


# ------------------------------------------------------------------ data loss


def test_release_never_replaces_another_without_overwrite(root):
    first = cax_zoo.release(cax_zoo.create("life/seeds"), "life/seeds", card="# first\n")
    with pytest.raises(WeightsError, match="already holds a release.*overwrite"):
        cax_zoo.release(cax_zoo.create("life/seeds"), "life/seeds", card="# second\n")
    assert (first / "README.md").read_text() == "# first\n"
    cax_zoo.release(cax_zoo.create("life/seeds"), "life/seeds", card="# second\n", overwrite=True,
                    files={"notes.txt": b"media"})
    assert (first / "README.md").read_text() == "# second\n" and (first / "notes.txt").read_bytes() == b"media"
    assert cax_zoo.load("life/seeds").rule == "B2/S"
    assert not [p for p in (root / "life").iterdir() if p.name.startswith(".")]


def test_failed_manifest_write_leaves_the_old_release_intact(root, monkeypatch):
    folder = cax_zoo.release(cax_zoo.create("life/seeds"), "life/seeds", card="# old\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    manifest_before = (root / "manifest.json").read_bytes()
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        cax_zoo.release(cax_zoo.create("life/seeds", boundary="zero"), "life/seeds", card="# new\n",
                        overwrite=True)
    monkeypatch.setattr(os, "replace", real_replace)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert (root / "manifest.json").read_bytes() == manifest_before
    assert sorted(p.name for p in root.rglob("*") if p.name.startswith(".")) == []
    assert cax_zoo.load("life/seeds").boundary == "periodic"


def test_folder_lock_excludes_a_second_holder(tmp_path):
    with FolderLock(tmp_path / "out"):
        with pytest.raises(ConfigError, match="another run is writing"):
            FolderLock(tmp_path / "out").acquire()
    FolderLock(tmp_path / "out").acquire().release()  # free again once released


def test_two_runs_into_one_out_the_second_is_refused(tmp_path, capsys):
    from recipes import mnist_self_classify as recipe

    with FolderLock(tmp_path / "run"):  # another run (process) is writing there
        code = recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 2 and "another run is writing" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_recipe_out_that_is_a_file_or_holds_a_release(tmp_path, capsys):
    from recipes import mnist_self_classify as recipe

    (tmp_path / "file").write_text("mine")
    assert recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "mine"
    out = tmp_path / "released"
    cax_zoo.release(cax_zoo.create("mnist_self_classify", key=jax.random.PRNGKey(0)), "mnist_self_classify",
                    card="# mine\n", root=out)
    assert recipe.main(["--smoke", "--no-progress", "--out", str(out)]) == 2
    assert "already holds a release" in capsys.readouterr().err
    assert (out / "mnist_self_classify" / "README.md").read_text() == "# mine\n"


def test_atomic_write_keeps_the_old_file_on_failure_and_replaces_symlinks(tmp_path, monkeypatch):
    out = tmp_path / "life.gif"
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]
    cax_zoo.write_gif(out, frames)
    good = out.read_bytes()

    def crash(self, fp, *a, **kw):
        Path(fp).write_bytes(b"GIF89a half")
        raise KeyboardInterrupt  # killed while writing

    monkeypatch.setattr(Image.Image, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        cax_zoo.write_gif(out, frames)
    monkeypatch.undo()
    assert out.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["life.gif"]
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    cax_zoo.write_png(link, frames[1])
    assert target.read_text() == "keep me" and not link.is_symlink()
    atomic_write_bytes(link, b"x")
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["eval", "mnist_self_classify", "--json", "{tmp}/missing/dir/m.json"], "does not exist"),
        (["eval", "mnist_self_classify", "--json", "{tmp}"], "is a folder"),
        (["run", "life", "--out", "{tmp}/afile/x.gif"], "is not a folder"),
        (["run", "life", "--out", "{tmp}/missing/x.gif"], "does not exist"),
    ],
)
def test_output_paths_are_checked_before_the_work(tmp_path, capsys, monkeypatch, args, fragment):
    (tmp_path / "afile").write_text("x")
    import cax_zoo._pretrained as pretrained

    def no_work(*a, **kw):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(pretrained, "load", no_work)
    _one_line_error(capsys, main([a.format(tmp=tmp_path) for a in args]), fragment)


# ------------------------------------------------------------------ silent wrong results


def test_expected_weights_that_are_absent_are_an_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", "/nonexistent")
    with pytest.raises(WeightsError, match="mnist_self_classify has no released weights"):
        cax_zoo.load("mnist_self_classify")
    _one_line_error(capsys, main(["eval", "mnist_self_classify", "--limit", "8"]), "no released weights")
    # a release folder that lost its config.json
    root = tmp_path / "w"
    shutil.copytree(Path(__file__).resolve().parents[1] / "weights" / "mnist_self_classify",
                    root / "mnist_self_classify")
    shutil.copy(Path(__file__).resolve().parents[1] / "weights" / "manifest.json", root / "manifest.json")
    (root / "mnist_self_classify" / "config.json").unlink()
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", str(root))
    with pytest.raises(WeightsError, match="config.json is missing"):
        cax_zoo.load("mnist_self_classify")


@pytest.mark.parametrize("entry", [{}, None, "abc", {"config.json": "0" * 64},
                                   {"config.json": "0" * 64, "model.safetensors": "short"},
                                   {"config.json": "0" * 64, "model.safetensors": "0" * 64, "../x": "0" * 64}])
def test_bad_manifest_entries_are_errors(root, entry):
    cax_zoo.release(cax_zoo.create("life/seeds"), "life/seeds", card="# s\n")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["life/seeds"] = entry
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="manifest"):
        cax_zoo.load("life/seeds")


@pytest.fixture
def checkpoint(tmp_path):
    trees = {"model": cax_zoo.CellMLP([3, 4, 2], key=jax.random.PRNGKey(0), zero_last=False),
             "pool": np.arange(6.0, dtype=np.float32).reshape(3, 2)}
    save_checkpoint(tmp_path / "a", trees, step=4, meta={"config": {"x": 1}, "history": [[0, 1.0]]})
    save_checkpoint(tmp_path / "b", {**trees, "pool": trees["pool"] + 1}, step=4, meta={"config": {"x": 2}})
    return tmp_path / "a", trees


def _edit_record(folder, **changes):
    path = folder / "checkpoint.json"
    record = json.loads(path.read_text())
    for k, v in changes.items():
        if v is KeyError:
            record.pop(k, None)
        elif k.startswith("meta."):
            record["meta"][k[5:]] = v
        else:
            record[k] = v
    path.write_text(json.dumps(record))


def test_checkpoint_with_a_flipped_byte_is_refused(checkpoint):
    folder, trees = checkpoint
    assert load_checkpoint(folder, trees)[1] == 4
    path = folder / "ckpt-000000004.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="fails its sha256 check"):
        load_checkpoint(folder, trees)


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"file": "../b/ckpt-000000004.safetensors"}, "'file'"),
        ({"step": 10**30}, "'step'"),
        ({"step": -1}, "'step'"),
        ({"step": "4"}, "'step'"),
        ({"step": KeyError}, "'step'"),
        ({"sha256": KeyError}, "'sha256'"),
        ({"meta": [1]}, "'meta'"),
        ({"meta.history": "long"}, "'history'"),
        ({"meta.train_seconds": -5}, "'train_seconds'"),
        ({"meta.config": 3}, "'config'"),
        ({"meta.key_data": [2**40]}, "'key_data'"),
    ],
)
def test_bad_checkpoint_records_are_one_line_errors(checkpoint, changes, fragment):
    folder, trees = checkpoint
    _edit_record(folder, **changes)
    with pytest.raises(WeightsError, match=fragment):
        load_checkpoint(folder, trees)


def test_checkpoint_naming_another_runs_file_is_refused(checkpoint):
    folder, trees = checkpoint
    other = folder.parent / "b" / "ckpt-000000004.safetensors"
    shutil.copy(other, folder / "ckpt-000000004.safetensors")  # same name, another run's arrays
    with pytest.raises(WeightsError, match="belongs to another run"):
        load_checkpoint(folder, trees)


# ------------------------------------------------------------------ crashes -> one-line errors


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--steps", str(2**31)], "--steps must be between"),
        (["--seed", str(2**32)], "--seed must be between"),
        (["--seed", "-1"], "--seed must be between"),
        (["--fps", "0"], "--fps must be between"),
        (["--fps", "nan"], "--fps must be a finite number"),
        (["--every", "0"], "--every must be between"),
        (["--config", "key=1"], "'key' is not a config entry"),
        (["--config", "colour=1"], "colour"),
    ],
)
def test_run_arguments_out_of_range(tmp_path, capsys, args, fragment):
    code = main(["run", "life", "--size", "8", "--out", str(tmp_path / "x.gif"), *args])
    _one_line_error(capsys, code, fragment)
    assert not (tmp_path / "x.gif").exists()


def test_negative_size_reaches_the_size_check(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "life", "--size", "-5x5", "--out", str(tmp_path / "x.gif")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "bad size '-5x5': extents must be positive" in err and "expected one argument" not in err


def test_keys_are_checked_where_users_pass_them():
    with pytest.raises(ConfigError, match="key must be a JAX PRNG key.*got int 1"):
        cax_zoo.create("growing_nca", key=1)
    with pytest.raises(ConfigError, match="got str 'abc'"):
        cax_zoo.create("growing_nca", key="abc")
    with pytest.raises(ConfigError, match="initialises its parameters at random"):
        cax_zoo.create("growing_nca")
    with pytest.raises(ConfigError, match="takes no key"):
        cax_zoo.create("life", key=jax.random.PRNGKey(0))
    life = cax_zoo.create("life")
    for bad in (5, "5", np.zeros(2, np.float32), np.zeros(3, np.uint32)):
        with pytest.raises(StateError, match="key must be a JAX PRNG key"):
            life.rollout(life.init_state(8), 2, key=bad)
    assert life.rollout(life.init_state(8), 2, key=jax.random.key(0)).shape == (8, 8, 1)
    model = cax_zoo.create("growing_nca", key=jax.random.key(3))
    assert type(model).__name__ == "GrowingNCA"


def test_info_knows_hub_ids_and_folders(hf_cache, highlife, capsys):
    populate_cache(hf_cache, "someone/infohl", highlife, "6" * 40)
    assert main(["info", "hf://someone/infohl"]) == 0
    out = capsys.readouterr().out
    assert "B36/S23" in out and "# HighLife" in out and "Hub" in out
    assert main(["info", str(highlife)]) == 0
    assert "B36/S23" in capsys.readouterr().out


def test_pretrained_from_a_folder_of_another_family_is_refused(tmp_path, capsys, highlife):
    from recipes import mnist_self_classify as recipe

    code = recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "o"), "--init", "pretrained",
                        "--pretrained", str(highlife)])
    assert code == 2
    err = capsys.readouterr().err
    assert "a life model" in err and "this recipe trains SelfClassifyingMNIST" in err


@pytest.mark.parametrize("pair,fragment", [("lr=NaN", "finite"), ("lr=0", "learning rate"),
                                           ("batch_size=0", "batch_size"), ("pool_size=0", "pool_size"),
                                           ("steps=-1", "steps"), ("checkpoint_every=0", "checkpoint_every")])
def test_recipe_config_values_are_range_checked(tmp_path, capsys, pair, fragment):
    from recipes import mnist_self_classify as recipe

    assert recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "o"), "--config", pair]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # a run refused before any work leaves no folder behind


# ------------------------------------------------------------------ rough edges (issue 16)


def test_train_help_lists_trainable_models(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "trainable models" in out and "mnist_self_classify" in out and "growing_nca" in out
    assert "life " not in out


def test_recipe_help_shows_the_real_out_default(capsys):
    from recipes import growing_nca as recipe

    with pytest.raises(SystemExit) as e:
        recipe.main(["--help"])
    assert e.value.code == 0
    assert "runs/growing_nca_lizard/" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit) as e:
        main(["train", "growing_nca", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("usage: cax-zoo train growing_nca ") and "runs/growing_nca_lizard/" in out


def test_load_pretrained_true_needs_weights_and_create_gives_a_fresh_one():
    with pytest.raises(WeightsError, match="life has no released weights"):
        cax_zoo.load("life", pretrained=True)
    with pytest.raises(WeightsError, match="growing_nca has no released weights.*growing_nca/lizard"):
        cax_zoo.load("growing_nca")
    assert cax_zoo.load("life").rule == "B3/S23"  # rule families need no weights
    fresh = cax_zoo.load("growing_nca", pretrained=False, key=jax.random.PRNGKey(0))
    assert type(fresh).__name__ == "GrowingNCA"


def test_load_accepts_a_local_release_folder(highlife, tmp_path, monkeypatch):
    assert cax_zoo.load(highlife).rule == "B36/S23"
    assert cax_zoo.load(str(highlife)).rule == "B36/S23"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "someone").mkdir()
    shutil.copytree(highlife, tmp_path / "someone" / "hl")
    with pytest.raises(UnknownModelError, match="both a local folder and a Hub repo id.*hf://someone/hl"):
        cax_zoo.load("someone/hl")
    assert cax_zoo.load("./someone/hl").rule == "B36/S23"


def test_init_pretrained_without_a_default_names_the_model_and_config(tmp_path, capsys):
    from recipes import growing_nca as recipe

    code = recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "o"), "--init", "pretrained",
                        "--emoji", "\U0001F98B"])
    assert code == 2
    err = capsys.readouterr().err
    size = cax_zoo.load("growing_nca/lizard").config()["size"]
    assert "--pretrained growing_nca/lizard" in err and f"size={size}" in err


def test_small_one_d_renders_are_enlarged(tmp_path):
    out = tmp_path / "r110.png"
    assert main(["run", "elementary", "--rule", "110", "--size", "200", "--steps", "100", "--out", str(out),
                 "--no-progress"]) == 0
    with Image.open(out) as im:
        assert im.size == (400, 202)  # 200 cells x 101 rows, enlarged x2 as a 2-D grid of this size is


def test_repo_cache_folder_linked_outside_the_cache_is_refused(hf_cache, highlife, tmp_path):
    elsewhere = tmp_path / "planted"
    populate_cache(elsewhere, "someone/planted", highlife, "7" * 40)
    os.symlink(elsewhere / "models--someone--planted", hf_cache / "models--someone--planted")
    with pytest.raises(WeightsError, match="resolves outside the Hub cache"):
        cax_zoo.load("hf://someone/planted")


def test_oversized_weight_file_is_refused_before_reading(highlife):
    path = highlife / "model.safetensors"
    with open(path, "ab") as f:
        f.truncate(path.stat().st_size + (4 << 20))  # a sparse 4 MB tail
    cfg = json.loads((highlife / "config.json").read_text())
    del cfg["weights_sha256"]
    (highlife / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="not this model's weights"):
        cax_zoo.load_pretrained(highlife)


def test_os_errors_while_writing_are_one_line(tmp_path, capsys):
    code = main(["run", "life", "--size", "8", "--steps", "2", "--out", str(tmp_path / ("x" * 300 + ".gif"))])
    _one_line_error(capsys, code, "name too long")


def test_override_that_would_change_a_stored_array_is_refused(tmp_path):
    """particle_life's attraction matrix comes from its seed and is stored in the weights:
    load_pretrained(folder, seed=3) would silently keep the file's matrix, so it is refused."""
    folder = cax_zoo.save_pretrained(cax_zoo.create("particle_life", seed=1), tmp_path / "pl")
    with pytest.raises(ConfigError, match=r"overriding seed would change .*attraction"):
        cax_zoo.load_pretrained(folder, seed=3)
    same = cax_zoo.load_pretrained(folder, friction_half_life=0.08)  # no array depends on it
    assert same.config()["friction_half_life"] == 0.08
    np.testing.assert_array_equal(same.attraction, cax_zoo.create("particle_life", seed=1).attraction)
