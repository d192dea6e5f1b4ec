"""Hugging Face Hub, offline: resolution through a real Hub cache layout, and the upload
path up to the network call."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi

import cax_zoo
from cax_zoo import HubError, UnknownModelError, WeightsError


def populate_cache(cache: Path, repo_id: str, files: Path, commit: str, refs=("main",)) -> Path:
    """Lay files out exactly as huggingface_hub's cache does: content-addressed blobs,
    refs/<branch> holding the commit hash, snapshots/<commit>/<file> -> ../../blobs/<hash>."""
    import hashlib

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for f in files.iterdir():
        data = f.read_bytes()
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        link = snap / f.name
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(os.path.join("..", "..", "blobs", blob), link)
    for ref in refs:
        (repo / "refs" / ref).write_text(commit)
    return snap


@pytest.fixture
def highlife_folder(tmp_path):
    return cax_zoo.save_pretrained(cax_zoo.create("life", rule="B36/S23"), tmp_path / "highlife",
                                   name="highlife", card="# HighLife\n")


def test_offline_mode_is_on():
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE


def test_load_from_cache_by_repo_id(hf_cache, highlife_folder):
    populate_cache(hf_cache, "someone/highlife", highlife_folder, "a" * 40)
    for name in ("someone/highlife", "hf://someone/highlife"):
        model = cax_zoo.load(name)
        assert model.rule == "B36/S23"


def test_load_revision_branch_and_commit(hf_cache, highlife_folder, tmp_path):
    populate_cache(hf_cache, "someone/rules", highlife_folder, "b" * 40, refs=("main",))
    seeds = cax_zoo.save_pretrained(cax_zoo.create("life", rule="B2/S"), tmp_path / "seeds")
    populate_cache(hf_cache, "someone/rules", seeds, "c" * 40, refs=("v2",))
    assert cax_zoo.load("someone/rules").rule == "B36/S23"
    assert cax_zoo.load("someone/rules", revision="v2").rule == "B2/S"
    assert cax_zoo.load("someone/rules", revision="b" * 40).rule == "B36/S23"
    with pytest.raises(HubError, match="not in the local cache"):
        cax_zoo.load("someone/rules", revision="v3")


def test_uncached_repo_offline_is_a_clear_error():
    with pytest.raises(HubError, match="someone/absent.*not in the local cache"):
        cax_zoo.load("someone/absent")


def test_tampered_cached_weights_are_refused(hf_cache, tmp_path):
    """One weight changed in the cached blob (a valid safetensors file): refused, by the
    blob's sha256 name, before any array reaches the model."""
    model = cax_zoo.create("lenia/orbium")
    folder = cax_zoo.save_pretrained(model, tmp_path / "m")
    snap = populate_cache(hf_cache, "someone/broken", folder, "d" * 40)
    blob = Path(os.path.realpath(snap / "model.safetensors"))
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(blob))
    key = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size)
    arrays[key] = arrays[key] + 1  # same keys, shapes and dtypes: only the hash can tell
    save_file(arrays, str(blob))
    with pytest.raises(WeightsError, match="model.safetensors fails its hash check"):
        cax_zoo.load("someone/broken")


def test_tampered_cached_config_is_refused(hf_cache, tmp_path):
    folder = cax_zoo.save_pretrained(cax_zoo.create("life"), tmp_path / "m")
    snap = populate_cache(hf_cache, "someone/badconfig", folder, "e" * 40)
    blob = Path(os.path.realpath(snap / "config.json"))
    blob.write_text(blob.read_text().replace("B3/S23", "B36/S23"))
    with pytest.raises(WeightsError, match="config.json fails its hash check"):
        cax_zoo.load("hf://someone/badconfig")


class RecordingApi(HfApi):
    """The real client with its two network calls recorded instead of sent."""

    def __init__(self):
        super().__init__(token="hf_test")
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, **kw):
        files = sorted(p.name for p in Path(kw["folder_path"]).iterdir())
        self.calls.append(("upload_folder", kw["repo_id"], {**kw, "files": files}))
        return "https://huggingface.co/someone/highlife/commit/0"


def test_push_uploads_the_folder(highlife_folder):
    api = RecordingApi()
    url = cax_zoo.push_to_hub(highlife_folder, "someone/highlife", api=api)
    assert url.endswith("/commit/0")
    (c1, repo, kw1), (c2, repo2, kw2) = api.calls
    assert (c1, c2, repo, repo2) == ("create_repo", "upload_folder", "someone/highlife", "someone/highlife")
    assert set(kw2["allow_patterns"]) == {"model.safetensors", "config.json", "README.md", "*.gif", "*.png"}
    assert {"model.safetensors", "config.json", "README.md"} <= set(kw2["files"])


def test_push_with_real_client_stops_at_the_network(highlife_folder):
    with pytest.raises(HubError, match="offline"):
        cax_zoo.push_to_hub(highlife_folder, "someone/highlife")


def test_push_refuses_a_broken_folder_before_any_call(highlife_folder):
    (highlife_folder / "README.md").unlink()
    api = RecordingApi()
    with pytest.raises(WeightsError, match="README.md"):
        cax_zoo.push_to_hub(highlife_folder, "someone/x", api=api)
    assert api.calls == []
    shutil.copy(highlife_folder / "config.json", highlife_folder / "README.md")
    (highlife_folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="corrupt"):
        cax_zoo.push_to_hub(highlife_folder, "someone/x", api=api)
    assert api.calls == []


def test_push_by_name_needs_a_release():
    with pytest.raises(WeightsError, match="no released weights"):
        cax_zoo.push_to_hub("life/seeds", "someone/x", api=RecordingApi())
    with pytest.raises(UnknownModelError, match="did you mean"):
        cax_zoo.push_to_hub("lifee", "someone/x", api=RecordingApi())
