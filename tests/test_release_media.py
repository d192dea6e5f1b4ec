"""Releases carry media (the loss curve, a preview GIF made as ``cax-zoo run`` makes it, the
growing NCA's target) and ``push_to_hub`` uploads them; model cards come from what each
family declares, with no family knowledge in the shared card code."""

import json
import re
from pathlib import Path

import jax
import numpy as np
import pytest
from huggingface_hub import HfApi
from PIL import Image

import cax_zoo
from cax_zoo._cli import main
from cax_zoo._hub import upload_plan
from cax_zoo._weights import read_manifest, verify_folder
from cax_zoo.training import MAX_MEDIA_BYTES, PREVIEW_GIF, TRAINING_PLOT, card_spec, release_run
from recipes.lenia_creatures import PREVIEWS
from recipes.lenia_creatures import main as lenia_recipe

ROOT = Path(__file__).resolve().parents[1]
NEURAL_RELEASES = ["arc1d_nca", "growing_nca/lizard", "mnist_self_classify"]
WEIGHTS = cax_zoo.weights_root()
SHIPPED = sorted(p.parent.relative_to(WEIGHTS).as_posix() for p in WEIGHTS.rglob("config.json"))
UNTRAINED_PREVIEW_BYTES = 80_000  # the Lenia creatures' thumbnails


class PlanningApi(HfApi):
    """The real Hub client with its two network calls replaced by recording what the
    upload would send (the client's own file filter over the staged folder)."""

    def __init__(self):
        super().__init__(token="hf_test")
        self.plans = []

    def create_repo(self, repo_id, **kw):
        pass

    def upload_folder(self, *, folder_path, allow_patterns, **kw):
        self.plans.append(upload_plan(folder_path, allow_patterns))
        return "https://huggingface.co/someone/x/commit/0"


def test_release_writes_media_made_as_cax_zoo_run_and_push_uploads_them(tmp_path, capsys):
    from cax_zoo.growing_nca import TARGET_FILE, emoji_about, target_png

    model = cax_zoo.GrowingNCA(size=12, hidden_units=8, key=jax.random.PRNGKey(1))
    target = np.zeros((12, 12, 4), np.float32)
    target[4:8, 4:8] = [0.2, 0.4, 0.6, 1.0]
    history = [[i, 1.0 / (1 + i)] for i in range(60)]
    run_args = ["--steps", "6", "--damage-at", "3", "--seed", "0"]
    folder = release_run(model, "growing_nca/lizard", root=tmp_path / "out", card="# t\n", metrics={"loss": 0.1},
                         history=history, run_args=run_args,
                         files={TARGET_FILE: target_png(target, **emoji_about("x", size=4, padding=4))})
    assert (folder / TRAINING_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gif = (folder / PREVIEW_GIF).read_bytes()
    assert gif[:6] == b"GIF89a" and len(gif) < MAX_MEDIA_BYTES
    # the same picture as `cax-zoo run FOLDER ...` of the released folder
    assert main(["run", str(folder), *run_args, "--out", str(tmp_path / "again.gif"), "--no-progress"]) == 0
    assert (tmp_path / "again.gif").read_bytes() == gif
    with Image.open(folder / PREVIEW_GIF) as im:
        assert im.size == (252, 252)  # 12 cells, enlarged as every run picture is
    card = (folder / "README.md").read_text()
    assert card.startswith(f"# t\n\n![growing_nca/lizard, as `cax-zoo run` shows it]({PREVIEW_GIF})")
    assert f"]({TRAINING_PLOT})" in card
    api = PlanningApi()
    cax_zoo.push_to_hub(folder, "someone/x", api=api)
    assert api.plans == [sorted(["README.md", "config.json", "model.safetensors", PREVIEW_GIF, TRAINING_PLOT,
                                 TARGET_FILE])]


def test_release_leaves_out_media_it_cannot_make(tmp_path):
    model = cax_zoo.GrowingNCA(size=9, hidden_units=4, key=jax.random.PRNGKey(1))
    with pytest.warns(UserWarning, match="no finite loss"):
        folder = release_run(model, "growing_nca", root=tmp_path, card="# t\n", metrics={},
                             history=[[0, float("nan")]])
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_releases_carry_a_small_preview_that_push_uploads(name):
    folder = WEIGHTS / name
    gif = (folder / PREVIEW_GIF).read_bytes()
    trained = cax_zoo.get_entry(name).learned
    assert gif[:6] == b"GIF89a" and len(gif) <= (MAX_MEDIA_BYTES if trained else UNTRAINED_PREVIEW_BYTES)
    with Image.open(folder / PREVIEW_GIF) as im:
        assert min(im.size) >= 64
    plan = upload_plan(folder)
    assert PREVIEW_GIF in plan and {"README.md", "config.json", "model.safetensors"} <= set(plan)
    if name == "growing_nca/lizard":
        assert "target.png" in plan
    if not trained:  # nothing trained, nothing else to show: no training.png
        assert plan == sorted(["README.md", "config.json", "model.safetensors", PREVIEW_GIF])
    # the card shows it (the Hub renders a relative image link) ...
    assert f"]({PREVIEW_GIF})" in (folder / "README.md").read_text()
    # ... and the manifest, which records the weights and config only, still verifies them
    manifest = read_manifest(WEIGHTS)[name]
    assert sorted(manifest) == ["config.json", "model.safetensors"]
    verify_folder(folder, manifest)


def test_every_release_is_checked_and_every_lenia_creature_has_preview_arguments():
    assert set(NEURAL_RELEASES) <= set(SHIPPED)
    assert set(SHIPPED) == set(read_manifest(WEIGHTS))
    assert sorted(f"lenia/{n}" for n in PREVIEWS) == sorted(n for n in SHIPPED if n.startswith("lenia/"))


def test_lenia_recipe_releases_the_shipped_preview(tmp_path):
    """Re-releasing a creature writes the preview the package ships (Lenia's glider of
    Life: 0/1 cells, so the same bytes on every machine) and links it in the card."""
    assert lenia_recipe(["--out", str(tmp_path), "--only", "life_glider", "--steps", "100"]) == 0
    folder = tmp_path / "lenia" / "life_glider"
    assert (folder / PREVIEW_GIF).read_bytes() == (WEIGHTS / "lenia" / "life_glider" / PREVIEW_GIF).read_bytes()
    assert "\n\n![lenia/life_glider, as `cax-zoo run` shows it](preview.gif)\n" in (folder / "README.md").read_text()
    with Image.open(folder / PREVIEW_GIF) as im:
        assert im.n_frames > 1  # the glider moves


def test_card_code_knows_no_family_and_families_declare_their_cards():
    source = (ROOT / "cax_zoo" / "_training" / "_card.py").read_text()
    families = {n.split("/")[0] for n in cax_zoo.list_models()}
    named = sorted(f for f in families if re.search(rf"\b{re.escape(f)}\b", source))
    assert not named, f"family names in the shared card code: {named}"
    for name, dataset in (("growing_nca/lizard", "emoji-lizard"), ("mnist_self_classify", "ylecun/mnist"),
                          ("arc1d_nca", "1d-arc"), ("lenia/orbium", "lenia-catalogue")):
        assert card_spec(name).dataset_type == dataset
    assert card_spec("life") is None


def test_card_bodies_say_nothing_of_the_project_internals():
    internal = re.compile(r"cax_zoo\._|\b_[a-z]+\.py\b|\bhelper\b|\bsession\b|(^|\s)/(work|home|tmp|Users)/"
                          r"|\bnice -n\b", re.I | re.M)
    found = {}
    for readme in sorted(cax_zoo.weights_root().rglob("README.md")):
        body = readme.read_text().split("\n---\n", 1)[-1]
        hits = [m.group(0) for m in internal.finditer(body)]
        if hits:
            found[str(readme.relative_to(cax_zoo.weights_root()))] = hits
    assert not found, found


def test_eval_defaults_are_what_the_cards_quote():
    """The command a card gives to reproduce its figures needs no option that changes them:
    the evaluation's defaults are the recorded settings (the lizard: 96 steps)."""
    for name in NEURAL_RELEASES:
        metrics = json.loads((cax_zoo.weights_root() / name / "config.json").read_text())["metrics"]
        if "steps" in metrics:
            assert cax_zoo.load(name).default_steps == metrics["steps"], name
    card = (cax_zoo.weights_root() / "growing_nca" / "lizard" / "README.md").read_text()
    assert "`cax-zoo eval growing_nca/lizard`." in card  # the command alone reproduces them
