"""`cax-zoo eval` end to end on the shipped weights, as a user runs it (a subprocess)."""

import json
import os
import shutil
import subprocess
import sys


def _eval(args, tmp_path, data_dir):
    env = dict(os.environ, CAX_ZOO_DATA=str(data_dir))
    return subprocess.run([sys.executable, "-m", "cax_zoo", "eval", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


def test_eval_arc1d_scores_whatever_tasks_a_folder_holds(tmp_path, data_dir):
    # a user's own split: two held-out tasks of two types, in the original layout
    mine = tmp_path / "my_split"
    for name in ("1d_move_1p_21", "1d_pcopy_1c_22"):
        kind = name.rsplit("_", 1)[0]
        (mine / kind).mkdir(parents=True)
        shutil.copy(data_dir / "1d-arc" / kind / f"{name}.json", mine / kind)
    r = _eval(["arc1d_nca", "--data", str(mine), "--json", "out.json"], tmp_path, data_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["n_tasks"] == 2
    assert set(result["per_task_type"]) == {"1d_move_1p", "1d_pcopy_1c"}
    # the released model solves both (measured; 89% and 100% of these types' held-out tasks)
    assert result["overall"] == 1.0 and result["n_solved"] == 2, result["solved"]
    # the per-type table sits beside the published figures (CAX Table 2: move_1p 66 / 100;
    # the object-based GPT-4 and ARC-VSA publish overall figures only)
    assert "GPT-4" in r.stdout and "CAX NCA" in r.stdout and "ARC-VSA" in r.stdout
    row = next(line for line in r.stdout.splitlines() if line.startswith("1d_move_1p"))
    assert row.split()[-4:] == ["66.0", "100.0", "n/a", "n/a"]


def test_eval_mnist_writes_the_documented_json(tmp_path, data_dir):
    r = _eval(["mnist_self_classify", "--limit", "200", "--json", "out.json"], tmp_path, data_dir)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["num_images"] == 200
    steps = {"20", "50", "65", "80", "100", "200"}  # the Distill article's steps and ours
    assert set(result["accuracy_by_step"]) == set(result["agreement_by_step"]) == steps
    assert 0.0 <= result["agreement"] <= result["accuracy"]  # all live cells right implies the vote right
    # the shipped weights: 0.9658 on all 10,000 digits (card); the first 200 give 0.965 at
    # step 100 and 0.97 at step 200
    assert result["accuracy"] >= 0.92 and result["accuracy_by_step"]["200"] >= 0.92
    assert 0.5 <= result["pixel_accuracy"] <= 1.0


def test_eval_rejects_a_missing_data_folder(tmp_path, data_dir):
    r = _eval(["arc1d_nca", "--data", str(tmp_path / "nowhere"), "--json", "out.json"], tmp_path, data_dir)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nowhere" in r.stderr
    assert not (tmp_path / "out.json").exists()


def test_eval_seed_reaches_the_evaluation(tmp_path, capsys):
    """``--seed`` is passed to the family's evaluation (default: its own, 0); an
    evaluation that draws nothing refuses it in one line."""
    import pytest

    import cax_zoo
    from cax_zoo._cli import main
    from cax_zoo.diffusing_nca import evaluate

    def run(*seed):
        out = tmp_path / f"seed{''.join(seed)}.json"
        assert main(["eval", "diffusing_nca/lizard", "--steps", "2", *seed, "--json", str(out)]) == 0
        return json.loads(out.read_text())

    default, zero, three = run(), run("--seed", "0"), run("--seed", "3")
    assert default == zero and three["mse_from_noise"] != zero["mse_from_noise"]
    direct = evaluate(cax_zoo.load("diffusing_nca/lizard"), steps=2, seed=3)
    assert three["mse_from_noise"] == pytest.approx(direct["mse_from_noise"], rel=1e-5)
    capsys.readouterr()
    for bad, why in ((["diffusing_nca/lizard", "--seed", "-1"], "--seed must be between 0"),
                     (["lenia/orbium", "--seed", "1"], "seed"),
                     # options an evaluation has no use for are refused, never silently ignored
                     (["diffusing_nca/lizard", "--limit", "3"], "unknown evaluation option(s) ['limit']"),
                     (["conditional_nca/animals", "--indices", "1-2"], "unknown evaluation option(s) ['indices']"),
                     (["growing_nca/lizard", "--limit", "2"], "unknown evaluation option(s) ['limit']")):
        assert main(["eval", *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err


def test_eval_of_a_saved_folder_uses_its_familys_evaluation(tmp_path, capsys):
    """``cax-zoo eval FOLDER`` scores a saved model with the evaluation of its family
    (the same numbers as the registered name); a family without one is refused in one line."""
    import cax_zoo
    from cax_zoo._cli import main

    folder = cax_zoo.save_pretrained(cax_zoo.load("diffusing_nca/lizard"), tmp_path / "mine")
    by_name, by_folder = tmp_path / "name.json", tmp_path / "folder.json"
    assert main(["eval", "diffusing_nca/lizard", "--steps", "2", "--seed", "1", "--json", str(by_name)]) == 0
    assert main(["eval", str(folder), "--steps", "2", "--seed", "1", "--json", str(by_folder)]) == 0
    assert json.loads(by_folder.read_text()) == json.loads(by_name.read_text())
    cax_zoo.save_pretrained(cax_zoo.create("elementary"), tmp_path / "eca")
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "eca"), "--json", str(tmp_path / "eca.json")]) == 2
    err = capsys.readouterr().err
    assert "has no evaluation" in err and err.count("\n") == 1, err
    assert not (tmp_path / "eca.json").exists()
