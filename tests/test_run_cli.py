"""``cax-zoo run`` on the pretrained neural models: the digit a self-classifying MNIST CA
predicts (with a colour legend), a 1D-ARC task file solved and drawn, and the growing NCA
without the emoji font (its release ships the target)."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import cax_zoo
from cax_zoo._cli import main


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("cax-zoo: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ mnist_self_classify


def _digit_png(path, digit: int):
    im = Image.new("L", (120, 120), 255)  # dark on light, as a user draws it
    ImageDraw.Draw(im).text((60, 60), str(digit), fill=0, font=ImageFont.load_default(size=100), anchor="mm")
    im.save(path)
    return path


def test_mnist_run_prints_the_predicted_digit_and_draws_a_legend(tmp_path, capsys):
    from cax_zoo.mnist import CLASS_COLOURS, NUM_CLASSES

    png = _digit_png(tmp_path / "seven.png", 7)
    out = tmp_path / "seven.gif"
    assert main(["run", "mnist_self_classify", "--image", str(png), "--steps", "40", "--every", "20",
                 "--seed", "0", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"wrote {out}")
    assert lines[1].startswith("predicted digit: 7 (majority vote of ")
    # the printed line is the majority vote of the live cells at the last step (the same run to .npz)
    npz = tmp_path / "seven.npz"
    assert main(["run", "mnist_self_classify", "--image", str(png), "--steps", "40", "--every", "20",
                 "--seed", "0", "--out", str(npz)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == lines[1]
    model = cax_zoo.load("mnist_self_classify")
    assert model.cli_summary(np.load(npz)["final"]) == lines[1]
    with Image.open(out) as im:
        assert im.n_frames == 3
        rgb = np.asarray(im.convert("RGB"))
    side = rgb.shape[1]
    assert rgb.shape[0] > side  # the legend strip under the square picture
    strip = rgb[side:].reshape(-1, 3)
    for c in range(NUM_CLASSES):  # every class colour is in the legend
        assert (np.abs(strip.astype(int) - CLASS_COLOURS[c]).sum(-1) == 0).any(), c


def test_mnist_summary_is_the_majority_of_live_votes():
    model = cax_zoo.load("mnist_self_classify")
    state = np.zeros((28, 28, model.num_channels), np.float32)
    state[5:9, 5:9, 0] = 1.0  # 16 live cells: 10 vote 4, 6 vote 2
    logits = np.zeros((28, 28, 10), np.float32)
    logits[..., 4] = 1.0
    logits[5, 5:9, 2] = logits[6, 5:7, 2] = 2.0
    state[..., -10:] = logits
    assert model.cli_summary(state) == "predicted digit: 4 (majority vote of 16 live cells; votes 4: 10, 2: 6)"
    state[..., 0] = 0.0
    assert model.cli_summary(state) == "predicted digit: none (no live cell)"


# ------------------------------------------------------------------ arc1d_nca --task


def _task_file(data_dir, task_type="1d_move_1p", index=21):
    return data_dir / "1d-arc" / task_type / f"{task_type}_{index}.json"


def test_arc1d_run_task_solves_and_draws_input_prediction_expected(tmp_path, data_dir, capsys):
    task_file = _task_file(data_dir)
    task = json.loads(task_file.read_text())
    expected = np.asarray(task["test"][0]["output"][0])
    npz, png = tmp_path / "t.npz", tmp_path / "t.png"
    # the released model's solve path, one restart (the released settings take 4: the same code, longer)
    args = ["run", "arc1d_nca", "--task", str(task_file), "--config", "ttt_restarts=1"]
    assert main([*args, "--out", str(npz)]) == 0
    out = capsys.readouterr().out.splitlines()
    arrays = np.load(npz)
    np.testing.assert_array_equal(arrays["input_0"], task["test"][0]["input"][0])
    np.testing.assert_array_equal(arrays["expected_0"], expected)
    matched = np.array_equal(arrays["prediction_0"], expected)
    assert out[1].startswith(f"1d_move_1p_21: {'matched' if matched else 'not matched'}; prediction "
                             + "".join(map(str, arrays["prediction_0"])))
    assert matched  # measured: solved with one restart, as with the released four
    assert main([*args, "--out", str(png)]) == 0  # cached compilation: the picture of the same run
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[1] >= 256 and img.shape[0] >= 3 * 8
    from cax_zoo.arc1d import ARC_COLOURS

    # every colour of the three rows is drawn (as squares of at least 8 px)
    for c in set(expected.tolist()) | set(task["test"][0]["input"][0]):
        assert (np.abs(img.astype(int) - ARC_COLOURS[c]).sum(-1) == 0).sum() >= 64 * 3, c


@pytest.mark.parametrize("content, message", [
    ('{"train": [', "not valid JSON"),
    ('{"train": [{"input": [[1, 2]], "output": [[1]]}], "test": [{"input": [[1]], "output": [[1]]}]}',
     "input length 2 differs from output length 1"),
    ('{"train": [{"input": [[1, 12]], "output": [[1, 1]]}], "test": [{"input": [[1]], "output": [[1]]}]}',
     "outside 0-9"),
    ('[1, 2]', "expected a JSON object"),
])
def test_arc1d_run_bad_task_file_is_one_line(tmp_path, capsys, content, message):
    bad = tmp_path / "mine.json"
    bad.write_text(content)
    assert main(["run", "arc1d_nca", "--task", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    assert message in _one_line_error(capsys)
    assert not (tmp_path / "x.png").exists()


def test_run_task_option_errors(tmp_path, capsys, data_dir):
    out = str(tmp_path / "x.png")
    assert main(["run", "arc1d_nca", "--task", str(tmp_path / "none.json"), "--out", out]) == 2
    assert "is not a file" in _one_line_error(capsys)
    assert main(["run", "life", "--task", str(_task_file(data_dir)), "--out", out]) == 2
    assert "does not solve task files" in _one_line_error(capsys)
    assert main(["run", "arc1d_nca", "--task", str(_task_file(data_dir)), "--size", "9", "--out", out]) == 2
    assert "--size do not apply" in _one_line_error(capsys)


def test_task_file_round_trip(tmp_path, data_dir):
    """The recipe writes its preview task as a file; the reader gives back the same task."""
    from cax_zoo.arc1d import load_arc1d, read_task_file
    from recipes.arc1d_nca import write_task_file

    (task,) = load_arc1d(task_types=["1d_hollow"], indices=[3])
    again = read_task_file(write_task_file(task, tmp_path))
    assert again.name == task.name == "1d_hollow_3"
    for a, b in zip(task.train + task.test, again.train + again.test):
        np.testing.assert_array_equal(a[0], b[0]), np.testing.assert_array_equal(a[1], b[1])
    (tmp_path / "any name.json").write_text((tmp_path / "1d_hollow_3.json").read_text())
    assert read_task_file(tmp_path / "any name.json").name == "any name"


# ------------------------------------------------------------------ growing_nca without the emoji font


@pytest.fixture
def no_emoji_font(monkeypatch, tmp_path):
    """The emoji font made unavailable, as on a machine without it."""
    from cax_zoo._families._growing_nca import _targets

    monkeypatch.setattr(_targets, "EMOJI_FONT", str(tmp_path / "NoSuchEmoji.ttf"))
    with pytest.raises(cax_zoo.DataError, match="emoji font not found"):
        _targets.emoji_target()
    return _targets


def test_shipped_target_png_is_the_training_target():
    from cax_zoo.growing_nca import LIZARD, TARGET_FILE, emoji_target, read_target_png

    x, about = read_target_png(cax_zoo.weights_root() / "growing_nca" / "lizard" / TARGET_FILE)
    assert about == {"emoji": LIZARD, "target_size": 40, "padding": 16}
    target = emoji_target(LIZARD, size=40, padding=16)  # the current emoji rendering path
    assert x.dtype == np.float32 and x.shape == (72, 72, 4)
    assert x.tobytes() == target.tobytes()  # bit for bit


def test_lizard_eval_without_the_font_reproduces_the_card(tmp_path, no_emoji_font):
    folder = cax_zoo.weights_root() / "growing_nca" / "lizard"
    recorded = json.loads((folder / "config.json").read_text())["metrics"]
    out = tmp_path / "m.json"
    assert main(["eval", "growing_nca/lizard", "--json", str(out)]) == 0  # no --steps: the card's 96
    metrics = json.loads(out.read_text())
    assert metrics["steps"] == recorded["steps"] == 96
    for k in ("loss", "loss_after_damage", "loss_after_regrow"):
        assert metrics[k] == pytest.approx(recorded[k], rel=1e-5), k
    card = (folder / "README.md").read_text()
    assert "`cax-zoo eval growing_nca/lizard`" in card and "--steps" not in card.split("## Metrics")[0]


def test_lizard_run_and_fine_tune_target_without_the_font(tmp_path, no_emoji_font, capsys):
    import recipes.growing_nca as recipe
    from cax_zoo.growing_nca import read_target_png
    from cax_zoo.training import parse_recipe_args

    assert main(["run", "growing_nca/lizard", "--steps", "4", "--out", str(tmp_path / "l.png")]) == 0

    def run(*args):
        return parse_recipe_args(["--smoke", "--out", str(tmp_path / "ft"), "--init", "pretrained", *args],
                                 name="growing_nca/lizard", description="x", full=recipe.FULL, smoke=recipe.SMOKE,
                                 add_arguments=recipe.add_arguments)

    r = run("--config", "target_size=40", "--config", "padding=16")
    target, desc, about = recipe._target(r, r.config)
    shipped, _ = read_target_png(cax_zoo.weights_root() / "growing_nca" / "lizard" / "target.png")
    assert target.tobytes() == shipped.tobytes() and about["target_size"] == 40
    # another size needs the font: the one-line error says which config the shipped target has
    r = run()
    with pytest.raises(cax_zoo.DataError, match="target_size=40 --config padding=16") as e:
        recipe._target(r, r.config)
    assert "\n" not in str(e.value)


def test_corrupt_emoji_font_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    from cax_zoo._families._growing_nca import _targets

    bad = tmp_path / "NotoColorEmoji.ttf"
    bad.write_bytes(b"not a font at all" * 10)
    monkeypatch.setattr(_targets, "EMOJI_FONT", str(bad))
    with pytest.raises(cax_zoo.DataError, match="cannot read the emoji font") as e:
        _targets.emoji_target()
    assert "\n" not in str(e.value)
    # through the command line: the recipe on a target only the font can make
    capsys.readouterr()
    assert main(["train", "growing_nca", "--smoke", "--no-progress", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "cannot read the emoji font" in err and err.count("\n") == 1 and "Traceback" not in err, err
