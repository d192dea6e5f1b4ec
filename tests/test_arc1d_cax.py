"""CAX's own 1D-ARC NCA under the paper's protocol (``arc1d_nca/cax``): one NCA told the
task type by an embedding, no test-time training; its recipe, evaluation and release next
to ``arc1d_nca``'s."""

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import cax_zoo
from cax_zoo import Arc1DTaskNCA, ConfigError, StateError
from cax_zoo.arc1d import TASK_TYPES, evaluate_task_id, load_arc1d, predict_task_id, score, task_id_logits

SMALL = {"channels": 16, "hidden_size": 16, "embed_dim": 4, "default_steps": 4}


def _model(seed=0, **kw):
    return Arc1DTaskNCA(**{**SMALL, **kw}, key=jax.random.PRNGKey(seed))


def _randomised(model, seed=1):
    """The model with a random (non-zero) last layer, so that it changes its state."""
    w = model.update.mlp.weights[-1]
    noise = 0.3 * jax.random.normal(jax.random.PRNGKey(seed), w.shape)
    return eqx.tree_at(lambda m: m.update.mlp.weights[-1], model, noise)


def test_shapes_and_layout():
    m = _model()
    s = m.initial_state(np.array([0, 3, 3, 0, 5], np.int32))
    assert s.shape == (5, 16) and s.dtype == jnp.float32
    np.testing.assert_array_equal(np.argmax(np.asarray(s[:, -10:]), -1), [0, 3, 3, 0, 5])
    assert float(jnp.abs(s[:, :-10]).sum()) == 0.0
    b = m.initial_state(np.zeros((3, 7), np.int32))
    assert b.shape == (3, 7, 16)
    out = m.rollout(b, 3, input=m.task_input("1d_fill"))
    assert out.shape == (3, 7, 16)
    np.testing.assert_array_equal(m.predict_row(out), 0)  # a fresh model (zero last layer) is the identity
    assert m.update.embedding.shape == (len(TASK_TYPES), 4)
    assert m.render(out[0]).shape == (1, 7, 3)


def test_task_id_changes_the_output():
    m = _randomised(_model())
    x = jnp.asarray(np.array([0, 0, 2, 2, 2, 0, 0, 7, 0], np.int32))
    a = task_id_logits(m, x, jnp.int32(0), 4)
    b = task_id_logits(m, x, jnp.int32(5), 4)
    assert a.shape == (9, 10)
    assert float(jnp.abs(a - b).max()) > 1e-3
    s = m.initial_state(np.asarray(x))
    same = m.rollout(s, 4, input=m.task_input(5))
    np.testing.assert_allclose(np.asarray(same[:, -10:]), np.asarray(b), rtol=1e-5, atol=1e-5)
    none = m.rollout(s, 4)  # no input: the mean embedding (the "average task")
    assert float(jnp.abs(none[:, -10:] - a).max()) > 1e-3


def test_gradient_step_lowers_the_loss():
    from recipes.arc1d_nca_cax import make_train_step

    m = _model()
    cfg = {"default_steps": 4}
    opt = optax.adam(3e-2)
    step = make_train_step(cfg, opt)
    xs = jnp.asarray(np.array([[0, 1, 1, 0, 0, 0], [0, 0, 4, 4, 4, 0]], np.int32))
    ys = jnp.roll(xs, 1, axis=1)  # move right by one
    ms = jnp.ones(xs.shape, bool)
    ids = jnp.full((2,), TASK_TYPES.index("1d_move_1p"), jnp.int32)
    state = opt.init(eqx.filter(m, eqx.is_array))
    m1, state, l0 = step(m, state, xs, ys, ms, ids)
    assert np.isfinite(float(l0))
    assert float(jnp.abs(m1.update.mlp.weights[-1]).max()) > 0  # the zero last layer moved
    for _ in range(5):
        m1, state, l1 = step(m1, state, xs, ys, ms, ids)
    assert float(l1) < float(l0)


def test_bad_input_is_one_line_error():
    m = _model()
    for bad in (np.zeros(4, np.float32), np.array([0, 10], np.int32), np.zeros((1, 2, 3), np.int32)):
        with pytest.raises(StateError) as e:
            m.initial_state(bad)
        assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="task_type"):
        m.task_input("1d_nope")
    with pytest.raises(ConfigError, match="task_type"):
        m.task_input(18)
    with pytest.raises(ConfigError, match="channels"):
        Arc1DTaskNCA(channels=5, key=jax.random.PRNGKey(0))
    with pytest.raises(ConfigError, match="hidden_size"):
        Arc1DTaskNCA(hidden_size=10**9, key=jax.random.PRNGKey(0))
    with pytest.raises(ConfigError, match="Arc1DTaskNCA"):
        predict_task_id(cax_zoo.create("life"), [])


def test_recipe_rejects_overlapping_splits():
    from recipes.arc1d_nca_cax import FULL, check_config

    with pytest.raises(ConfigError, match="overlap"):
        check_config({**FULL, "val_indices": [10, 20]})
    with pytest.raises(ConfigError, match="eval_task_types"):
        check_config({**FULL, "eval_task_types": ["1d_nope"]})


def test_predictions_are_scored_like_arc1d_nca(data_dir):
    DATA = str(data_dir)
    tasks = load_arc1d(DATA + "/1d-arc", task_types=["1d_fill", "1d_padded_fill"], indices=[21, 22])
    m = _randomised(_model())
    preds = predict_task_id(m, tasks)
    assert [[p.shape for p in ps] for ps in preds] == [[y.shape for _, y in t.test] for t in tasks]
    # the same as one row at a time through the traceable logits
    t = tasks[0]
    x = t.test[0][0]
    one = np.argmax(np.asarray(task_id_logits(m, jnp.asarray(np.pad(x, (0, 36 - len(x)))),
                                              jnp.int32(TASK_TYPES.index(t.task_type)), 4)), -1)[: len(x)]
    np.testing.assert_array_equal(preds[0][0], one)
    r = evaluate_task_id(m, data=DATA + "/1d-arc", task_types=["1d_fill", "1d_padded_fill"], indices=[21, 22],
                         progress=False, print_table=False)
    assert r["n_tasks"] == 4 and r == {**score(tasks, preds), "seconds": r["seconds"], "steps": 4}
    assert set(r["per_task_type"]) == {"1d_fill", "1d_padded_fill"}
    # a perfect predictor scores 1 (the scoring is the zoo's exact match)
    assert score(tasks, [[y for _, y in t.test] for t in tasks])["overall"] == 1.0


def test_smoke_recipe_release_load_and_cli_eval(tmp_path, monkeypatch, capsys, data_dir):
    DATA = str(data_dir)
    from cax_zoo._cli import main as cli
    from recipes.arc1d_nca_cax import main

    out = tmp_path / "run"
    assert main(["--smoke", "--out", str(out), "--no-progress"]) == 0
    folder = out / "arc1d_nca" / "cax"
    assert {"README.md", "config.json", "model.safetensors"} <= {p.name for p in folder.iterdir()}
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["family"] == "arc1d_task_nca" and cfg["metrics"]["heldout_indices"] == "21-21"
    card = (folder / "README.md").read_text()
    assert "task-type embedding" in card and "1D-ARC" in card
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", str(out))
    m = cax_zoo.load("arc1d_nca/cax")
    assert isinstance(m, Arc1DTaskNCA) and m.config()["channels"] == 16
    js = tmp_path / "m.json"
    assert cli(["eval", "arc1d_nca/cax", "--data", DATA + "/1d-arc", "--limit", "3", "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "CAX NCA" in printed and "1d_denoising_1c" in printed  # the shared table, with baselines
    metrics = json.loads(js.read_text())
    assert metrics["n_tasks"] == 3 and set(metrics) >= {"overall", "per_task_type", "n_solved", "solved"}
    assert "--indices 21-21" in card  # the card's eval scores the held-out instances only
    assert cli(["eval", "arc1d_nca/cax", "--data", DATA + "/1d-arc", "--indices", "21-21", "--json", str(js)]) == 0
    held = json.loads(js.read_text())
    assert held["n_tasks"] == 18 and held["overall"] == cfg["metrics"]["heldout_overall"]
    capsys.readouterr()
    for bad in ("9-3", "a-b", "-2", ""):
        assert cli(["eval", "arc1d_nca/cax", "--indices", bad]) != 0
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--indices must be" in err
    assert (folder / "preview.gif").is_file()  # `cax-zoo run arc1d_nca/cax --task <held-out task>.json`
    from recipes.arc1d_nca import write_task_file

    task = load_arc1d(DATA + "/1d-arc", task_types=["1d_fill"], indices=[21])[0]
    path = write_task_file(task, tmp_path)
    assert cli(["run", "arc1d_nca/cax", "--task", str(path), "--out", str(tmp_path / "t.npz")]) == 0
    arrays = np.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(arrays["prediction_0"], predict_task_id(m, [task])[0][0])
    anonymous = tmp_path / "task.json"
    anonymous.write_text(path.read_text())
    from cax_zoo import DataError

    with pytest.raises(DataError, match="task type"):
        m.cli_task(anonymous)


def test_nested_release_survives_its_parent_release(tmp_path, monkeypatch):
    """``arc1d_nca/cax`` lives inside ``arc1d_nca``'s folder: re-releasing ``arc1d_nca``
    keeps it, and both load from their verified manifest entries."""
    from cax_zoo import Arc1DNCA, release

    parent = Arc1DNCA(hidden=10, features=4, default_steps=2, key=jax.random.PRNGKey(0))
    child = _model()
    release(parent, "arc1d_nca", card="# parent\n", root=tmp_path)
    release(child, "arc1d_nca/cax", card="# child\n", root=tmp_path)
    release(parent, "arc1d_nca", card="# parent again\n", root=tmp_path, overwrite=True)
    assert (tmp_path / "arc1d_nca" / "cax" / "model.safetensors").is_file()
    assert (tmp_path / "arc1d_nca" / "README.md").read_text() == "# parent again\n"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {"arc1d_nca", "arc1d_nca/cax"} <= set(manifest)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".") and p.name != ".cax_zoo.lock"]
    monkeypatch.setenv("CAX_ZOO_WEIGHTS", str(tmp_path))
    assert isinstance(cax_zoo.load("arc1d_nca"), Arc1DNCA)
    assert isinstance(cax_zoo.load("arc1d_nca/cax"), Arc1DTaskNCA)
    # pushing arc1d_nca uploads its own files only, not the release nested in its folder
    from huggingface_hub import HfApi

    class Recording(HfApi):
        def create_repo(self, repo_id, **kw):
            pass

        def upload_folder(self, **kw):
            self.files = sorted(p.relative_to(kw["folder_path"]).as_posix()
                                for p in Path(kw["folder_path"]).rglob("*") if p.is_file())
            return "https://huggingface.co/someone/x/commit/0"

    api = Recording(token="hf_test")
    cax_zoo.push_to_hub("arc1d_nca", "someone/x", api=api)
    assert api.files == ["README.md", "config.json", "model.safetensors"]


def test_shipped_arc1d_cax_scores_its_card_on_the_held_out_instances(data_dir):
    """The release (card: 98/162 = 0.605 on instances 21-29, which it never trained on)
    re-measured; the model is deterministic, so the figure is exact."""
    assert "arc1d_nca/cax" in cax_zoo.list_models(pretrained=True)
    model = cax_zoo.load("arc1d_nca/cax")
    card = json.loads((cax_zoo.weights_root() / "arc1d_nca" / "cax" / "config.json").read_text())["metrics"]
    result = evaluate_task_id(model, data=data_dir / "1d-arc", indices=range(21, 30), progress=False)
    assert result["n_tasks"] == card["heldout_n_tasks"] == 162
    assert result["n_solved"] == card["heldout_n_solved"] == 98 and result["overall"] >= 0.60
    assert result["per_task_type"] == pytest.approx(card["heldout_per_task_type"])
