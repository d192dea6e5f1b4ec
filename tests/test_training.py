"""The shared training machinery (cax_zoo._training) and the recipe command line,
exercised through the MNIST recipe's --smoke config."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import cax_zoo
from cax_zoo import ConfigError, WeightsError
from cax_zoo._training._checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from cax_zoo._training._optim import make_optimizer, normalize_per_parameter
from cax_zoo._training._pool import circle_masks, pool_sample, pool_update
from cax_zoo._training._recipe_cli import apply_overrides
from cax_zoo._weights import read_weights

from recipes import mnist_self_classify as recipe


def _run(tmp, *args):
    return recipe.main(["--smoke", "--no-progress", "--out", str(tmp), *args])


def _final_arrays(out):
    record = json.loads((out / "checkpoints" / "checkpoint.json").read_text())
    return record, read_weights(out / "checkpoints" / record["file"])


def test_smoke_run_releases_a_loadable_model(tmp_path):
    assert _run(tmp_path / "a") == 0
    folder = tmp_path / "a" / "mnist_self_classify"
    model = cax_zoo.load_pretrained(folder)
    assert type(model).__name__ == "SelfClassifyingMNIST"
    config = json.loads((folder / "config.json").read_text())
    assert set(config["metrics"]) >= {"accuracy", "pixel_accuracy", "accuracy_by_step"}
    card = (folder / "README.md").read_text()
    assert "cax-zoo train mnist_self_classify --smoke" in card  # the exact command
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert "mnist_self_classify" in manifest


def test_resume_after_stop_is_bit_identical(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _run(straight) == 0
    assert _run(split, "--stop-after", "3") == 0
    record, _ = _final_arrays(split)
    assert record["step"] == 3 and not (split / "mnist_self_classify").exists()
    assert _run(split, "--resume") == 0
    (ra, a), (rb, b) = _final_arrays(straight), _final_arrays(split)
    assert ra["step"] == rb["step"] == recipe.SMOKE["steps"]
    assert a.keys() == b.keys() and any(k.startswith("opt_state.") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert ra["meta"]["history"] == rb["meta"]["history"]


def test_resume_of_a_checkpoint_that_predates_a_config_field(tmp_path):
    """A field added to a recipe after a checkpoint was saved takes its default on
    --resume (here: the checkpoint's config is stripped of one field), and the resumed
    run still ends bit-identical to a straight one."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _run(straight) == 0
    assert _run(split, "--stop-after", "3") == 0
    record_file = split / "checkpoints" / "checkpoint.json"
    record = json.loads(record_file.read_text())
    dropped = next(k for k in record["meta"]["config"] if k not in ("seed", "steps"))
    del record["meta"]["config"][dropped]
    record_file.write_text(json.dumps(record))
    assert _run(split, "--resume") == 0
    (_, a), (_, b) = _final_arrays(straight), _final_arrays(split)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)

def test_fine_tune_from_pretrained_loads_and_changes_weights(tmp_path):
    assert _run(tmp_path / "base") == 0
    base_folder = tmp_path / "base" / "mnist_self_classify"
    notes = "Fine-tuned for the test: --notes text."
    assert _run(tmp_path / "ft", "--init", "pretrained", "--pretrained", str(base_folder),
                "--config", "lr=0.001", "--config", "seed=1", "--config", "default_steps=7",
                "--notes", notes) == 0
    # the model runs (and was evaluated) as long as this run's config says, not the base model's 5 steps
    tuned = cax_zoo.load_pretrained(tmp_path / "ft" / "mnist_self_classify")
    assert tuned.default_steps == 7 and cax_zoo.load_pretrained(base_folder).default_steps == 5
    # --notes: once in the card, in its Notes section (finish adds it; the recipe does not)
    card = (tmp_path / "ft" / "mnist_self_classify" / "README.md").read_text()
    notes_section = card.split("## Notes")[1].split("## Usage")[0]
    assert notes_section.count(notes) == 1 and card.count(notes) == 2  # and in the command that made it
    before = read_weights(base_folder / "model.safetensors")
    after = read_weights(tmp_path / "ft" / "mnist_self_classify" / "model.safetensors")
    assert before.keys() == after.keys()
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    # the fine-tuned run started from the pretrained weights, not from the fresh init its
    # seed gives: a few small steps leave it much nearer the base model than that init
    from cax_zoo._weights import module_arrays

    fresh = module_arrays(recipe._create({**recipe.SMOKE, "seed": 1}))
    assert fresh.keys() == after.keys()

    def distance(a, b):
        return sum(float(np.sum((np.asarray(a[k], np.float64) - b[k]) ** 2)) for k in a)

    assert distance(after, before) < 0.5 * distance(after, fresh)


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert _run(tmp_path / "x", "--config", "no_such_key=1") == 2
    assert "unknown config key 'no_such_key'" in capsys.readouterr().err
    assert _run(tmp_path / "x", "--config", "steps=abc") == 2
    assert "expected an integer" in capsys.readouterr().err
    assert _run(tmp_path / "y", "--resume") == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert _run(tmp_path / "z", "--stop-after", "2") == 0
    assert _run(tmp_path / "z") == 2  # would overwrite the checkpoints of another run
    assert "--resume" in capsys.readouterr().err
    assert _run(tmp_path / "z", "--resume", "--config", "lr=0.5") == 2
    assert "differs from the checkpoint" in capsys.readouterr().err


def test_apply_overrides_types():
    base = {"a": 1, "b": 0.5, "c": True, "d": "x", "e": [1, 2]}
    out = apply_overrides(base, ["a=3", "b=2", "c=false", "d=hello world", "e=[3]"])
    assert out == {"a": 3, "b": 2.0, "c": False, "d": "hello world", "e": [3]}
    with pytest.raises(ConfigError):
        apply_overrides(base, ["a"])
    with pytest.raises(ConfigError):
        apply_overrides(base, ["e=5"])


def test_checkpoint_round_trip_and_keep(tmp_path):
    mlp = cax_zoo.CellMLP([3, 4, 2], key=jax.random.PRNGKey(0), zero_last=False)
    opt = optax.adam(1e-3)
    state = opt.init(eqx.filter(mlp, eqx.is_array))
    pool = jnp.arange(6.0).reshape(3, 2)
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, {"model": mlp, "opt_state": state, "pool": pool}, step=step,
                        meta={"config": {"x": step}})
    assert has_checkpoint(tmp_path)
    assert len(list(tmp_path.glob("ckpt-*.safetensors"))) == 2
    trees, step, meta = load_checkpoint(tmp_path, {"model": mlp, "opt_state": state, "pool": pool})
    assert step == 3 and meta == {"config": {"x": 3}}
    np.testing.assert_array_equal(trees["model"].weights[0], mlp.weights[0])
    np.testing.assert_array_equal(trees["pool"], pool)
    with pytest.raises(WeightsError):
        load_checkpoint(tmp_path / "missing", {"model": mlp})
    other = cax_zoo.CellMLP([3, 5, 2], key=jax.random.PRNGKey(0))
    with pytest.raises(WeightsError, match="shape"):
        load_checkpoint(tmp_path, {"model": other})


def test_per_parameter_gradient_normalisation():
    grads = {"a": jnp.array([3.0, 4.0]), "b": jnp.full((2, 2), 10.0)}
    out, _ = normalize_per_parameter().update(grads, optax.EmptyState())
    for v in jax.tree_util.tree_leaves(out):
        assert float(jnp.linalg.norm(v)) == pytest.approx(1.0, rel=1e-5)
    opt = make_optimizer(1e-2, schedule="piecewise", boundaries=[2], decay=0.1)
    params = {"w": jnp.ones(3)}
    st = opt.init(params)
    upd, st = opt.update({"w": jnp.array([1e6, 0.0, 0.0])}, st, params)
    assert float(jnp.max(jnp.abs(upd["w"]))) <= 1.01e-2  # Adam step bounded by lr
    with pytest.raises(ConfigError):
        make_optimizer(1e-3, schedule="nope")


def test_pool_sample_update_and_damage():
    pool = {"x": jnp.arange(10.0)[:, None], "y": jnp.arange(10)}
    idx, batch = pool_sample(pool, jax.random.PRNGKey(0), 4)
    assert len(set(np.asarray(idx).tolist())) == 4
    np.testing.assert_array_equal(batch["x"][:, 0], np.asarray(idx, np.float32))
    new = pool_update(pool, idx, {"x": -batch["x"], "y": batch["y"]})
    np.testing.assert_array_equal(np.asarray(new["x"])[np.asarray(idx), 0], -np.asarray(idx, np.float32))
    masks = circle_masks(jax.random.PRNGKey(1), 5, (32, 32))
    assert masks.shape == (5, 32, 32, 1)
    frac = 1 - np.asarray(masks).mean(axis=(1, 2, 3))
    assert (frac > 0).all() and (frac < 0.6).all()  # a disc of radius 0.1-0.4 of the half-size


def _driven_run(out, *extra):
    """A recipe written on the driver (parse -> begin -> drive -> finish) whose training step
    is a fixed, cheap update of a real growing_nca model."""
    from cax_zoo.training import begin, drive, finish, parse_recipe_args, run_main

    def body(run):
        begin(run)
        model = cax_zoo.create("growing_nca", key=jax.random.PRNGKey(run.config["seed"]), num_channels=4,
                               hidden_units=8, size=8)
        params, static = eqx.partition(model, eqx.is_array)

        def step(trees, i):
            p = jax.tree_util.tree_map(lambda x: x + 0.01 * (i + 1), trees["params"])
            return {"params": p}, jnp.float32(1.0 / (i + 1))

        trained = drive(run, {"params": params}, step, num_steps=run.config["steps"],
                        checkpoint_every=run.config["checkpoint_every"], desc="toy", meta={"seed": run.config["seed"]})
        if not trained.completed:
            return 0
        model = eqx.combine(trained.trees["params"], static)
        finish(run, model, name="growing_nca", card=f"# toy\n\n{trained.steps_done} steps\n",
               metrics={"final_loss": trained.history[-1][1]})
        return 0

    defaults = {"seed": 0, "steps": 5, "checkpoint_every": 2}
    return run_main(body, lambda: parse_recipe_args(
        ["--no-progress", "--out", str(out), *extra], name="growing_nca", description="toy",
        full=defaults, smoke=defaults))


def test_recipe_driver_resumes_releases_and_guards_the_release(tmp_path, capsys):
    assert _driven_run(tmp_path / "straight") == 0
    assert _driven_run(tmp_path / "split", "--stop-after", "3") == 0
    assert not (tmp_path / "split" / "growing_nca").exists()
    assert _driven_run(tmp_path / "split", "--resume") == 0
    (ra, a), (rb, b) = _final_arrays(tmp_path / "straight"), _final_arrays(tmp_path / "split")
    assert ra["step"] == rb["step"] == 5 and ra["meta"]["history"] == rb["meta"]["history"]
    assert [h[0] for h in rb["meta"]["history"]] == [0, 1, 2, 3, 4]
    # the record (and a card) names the command that trains the run in one go, not the resume
    assert rb["meta"]["command"] == ra["meta"]["command"].replace("straight", "split")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    straight = cax_zoo.load_pretrained(tmp_path / "straight" / "growing_nca")
    split = cax_zoo.load_pretrained(tmp_path / "split" / "growing_nca")
    assert eqx.tree_equal(eqx.filter(straight, eqx.is_array), eqx.filter(split, eqx.is_array))
    assert "5 steps" in (tmp_path / "split" / "growing_nca" / "README.md").read_text()
    # a checkpoint record with a broken meta field: one line, no resume
    assert _driven_run(tmp_path / "bad", "--stop-after", "2") == 0
    record_path = tmp_path / "bad" / "checkpoints" / "checkpoint.json"
    record = json.loads(record_path.read_text())
    record["meta"]["history"] = "lost"
    record_path.write_text(json.dumps(record))
    capsys.readouterr()
    assert _driven_run(tmp_path / "bad", "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "meta field 'history' must be a list" in err
    # releasing again into the same --out: refused before any work, then allowed with --overwrite
    capsys.readouterr()
    assert _driven_run(tmp_path / "split", "--resume", "--finish-now") == 2
    assert "already holds a release of growing_nca; pass --overwrite" in capsys.readouterr().err
    assert _driven_run(tmp_path / "split", "--resume", "--finish-now", "--overwrite") == 0
    # a resumed run keeps the checkpoint's config
    assert _driven_run(tmp_path / "split", "--resume", "--overwrite", "--config", "steps=3") == 2
    assert "differs from the checkpoint" in capsys.readouterr().err


def test_padded_batches_cover_every_row_once_in_one_shape():
    from cax_zoo import DataError
    from cax_zoo.training import padded_batches

    x, y = np.arange(14, dtype=np.float32).reshape(7, 2), np.arange(7, dtype=np.uint8) + 1
    seen = []
    for i, (bx, by), count in padded_batches(x, y, batch_size=3):
        assert bx.shape == (3, 2) and by.shape == (3,) and by.dtype == np.uint8
        assert not by[count:].any() and not bx[count:].any()  # zero padding, scored by no one
        seen += list(by[:count])
        np.testing.assert_array_equal(bx[:count], x[3 * i : 3 * i + count])
    assert seen == list(y) and count == 1
    assert [c for _, _, c in padded_batches(x, batch_size=100)] == [7]  # one batch of the whole set
    for bad in ((x, y[:3]), ()):
        with pytest.raises(DataError):
            list(padded_batches(*bad, batch_size=2))
    with pytest.raises(DataError, match="no examples"):
        list(padded_batches(x[:0], batch_size=2))


def test_with_notes_ends_the_notes_section_once():
    from cax_zoo.training import with_notes

    card = ("---\ntags: [x]\n---\n\n# m\n\n## How it was trained\n\n```\n## not a section\n```\n\n"
            "## Notes\n\nThe recipe's notes.\n\n## Usage\n\n```python\nx = 1\n```\n")
    out = with_notes(card, "Mine.")
    assert out == card.replace("The recipe's notes.\n", "The recipe's notes.\n\nMine.\n")
    assert with_notes(out, "Mine.") == out and with_notes(card, None) == card and with_notes(card, " ") == card
    assert with_notes(card, "a section") != card  # quoted elsewhere (a command, code) is not in the Notes
    bare = card.replace("## Notes\n\nThe recipe's notes.\n\n", "")
    assert with_notes(bare, "Mine.") == bare.replace("## Usage", "## Notes\n\nMine.\n\n## Usage")
    end = bare.split("## Usage")[0]
    assert with_notes(end, "Mine.") == end + "## Notes\n\nMine.\n"


def test_initial_model_takes_the_step_fields_from_the_recipe_config(tmp_path):
    """``--init pretrained`` keeps the pretrained arrays but sets the static step count the
    recipe's config gives (any family with ``steps`` / ``default_steps``)."""
    from cax_zoo import GrowingNCA
    from cax_zoo.training import initial_model, parse_recipe_args, with_config

    base = GrowingNCA(num_channels=8, hidden_units=8, size=12, default_steps=5, key=jax.random.PRNGKey(3))
    cax_zoo.save_pretrained(base, tmp_path / "base")
    cfg = {"default_steps": 9, "seed": 0}
    run = parse_recipe_args(["--init", "pretrained", "--pretrained", str(tmp_path / "base"), "--out",
                             str(tmp_path / "out")], name="growing_nca", description="x", full=cfg, smoke=cfg)

    def create():
        return GrowingNCA(num_channels=8, hidden_units=8, size=12, default_steps=run.config["default_steps"],
                          key=jax.random.PRNGKey(run.config["seed"]))

    tuned = initial_model(run, create)
    assert tuned.default_steps == 9 and tuned.config() == {**base.config(), "default_steps": 9}
    for a, b in zip(*(jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array)) for m in (tuned, base)), strict=True):
        np.testing.assert_array_equal(a, b)
    assert initial_model(run, create, from_config=()).default_steps == 5
    with pytest.raises(WeightsError, match="shape"):  # not a static change: the arrays would not fit
        with_config(base, num_channels=9)


def test_data_option_is_declared_by_the_recipe(tmp_path):
    from cax_zoo.training import parse_recipe_args

    cfg = {"seed": 0}

    def parse(*argv, **kw):
        return parse_recipe_args(["--out", str(tmp_path), *argv], name="x", description="x", full=cfg, smoke=cfg, **kw)

    assert parse(data="mnist").options.data is None
    assert parse("--data", str(tmp_path), data="mnist").options.data == str(tmp_path)
    with pytest.raises(SystemExit):  # a recipe that reads no data set has no --data
        parse("--data", str(tmp_path))


def test_config_differences_names_each_changed_field_against_the_full_config():
    from cax_zoo.training import config_differences

    full = {"steps": 8192, "num_channels": 32, "checkpoint_every": 100}
    assert config_differences(dict(full), full) == "This is CAX's notebook config."
    text = config_differences({**full, "steps": 2600, "checkpoint_every": 5}, full)
    assert text == "It differs from CAX's notebook config in `steps` 2600 (CAX: 8192)."
    text = config_differences({**full, "num_channels": 24}, full, source="the paper's config", short="paper",
                              ignore=())
    assert text == "It differs from the paper's config in `num_channels` 24 (paper: 32)."


@pytest.mark.parametrize("remat", [True, False])
def test_rollout_up_to_runs_exactly_num_steps_and_differentiates_like_the_loop(remat):
    from cax_zoo.training import rollout_up_to

    model = cax_zoo.GrowingNCA(num_channels=6, hidden_units=8, size=9, key=jax.random.key(0))
    model = eqx.tree_at(lambda m: m.update.mlp.weights[-1], model,
                        0.1 * jax.random.normal(jax.random.key(1), model.update.mlp.weights[-1].shape))
    batch = jnp.stack([model.init_state()] * 3)
    key = jax.random.key(2)

    def by_loop(m, n, max_steps):
        states = batch
        for t, k in enumerate(jax.random.split(key, max_steps)[:n]):
            states = jnp.stack([m.step(s, key=kk) for s, kk in zip(states, jax.random.split(k, 3))])
        return states

    def loss(m, final):
        return jnp.sum(final[..., :4] ** 2)

    run = jax.jit(lambda m, n: rollout_up_to(m, batch, n, 6, key, remat=remat))
    for n in (0, 2, 6):
        np.testing.assert_allclose(run(model, n), by_loop(model, n, 6), rtol=1e-5, atol=1e-6)
    got = eqx.filter_grad(lambda m: loss(m, rollout_up_to(m, batch, jnp.int32(4), 6, key, remat=remat)))(model)
    want = eqx.filter_grad(lambda m: loss(m, by_loop(m, 4, 6)))(model)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
    assert any(float(jnp.max(jnp.abs(g))) > 0 for g in jax.tree.leaves(got))


def test_final_loss_is_the_mean_of_the_last_logged_losses():
    from cax_zoo.training import Trained

    trained = Trained(trees={}, model=None, history=[[0, 4.0], [10, 2.0], [20, 1.0]], completed=True,
                      start_step=0, steps_done=30, train_seconds=1.0)
    assert trained.final_loss(last=2) == 1.5 and trained.final_loss() == pytest.approx(7 / 3)
    assert Trained(trees={}, model=None, history=[], completed=False, start_step=0, steps_done=0,
                   train_seconds=0.0).final_loss() is None
