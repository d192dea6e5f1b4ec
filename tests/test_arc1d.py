"""1D-ARC: loader on the real data, strict errors, augmentation, scoring, recipe, evaluation."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import DataError
from cax_zoo._data._arc1d import (
    TASK_TYPES, introduced_colours, load_arc1d, mirror, pad_pairs, permute_colours,
    random_colour_permutation, read_task,
)
from cax_zoo import Arc1DNCA
from cax_zoo.arc1d import evaluate, format_table, score

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def tasks(data_dir):
    return load_arc1d(data_dir / "1d-arc")


def _shift(row, k):
    """Every non-background cell moved k cells (right for k > 0)."""
    out = np.zeros_like(row)
    for i in np.flatnonzero(row):
        out[i + k] = row[i]
    return out


# ---------------------------------------------------------------- loader on real data
def test_loader_reads_the_18_task_types(tasks):
    # Xu et al. 2023: 18 task types; the shared copy holds instances 0-29 of each
    assert tuple(sorted({t.task_type for t in tasks})) == TASK_TYPES
    assert len(TASK_TYPES) == 18 and len(tasks) == 18 * 30
    for t in tasks:
        assert len(t.train) >= 1 and len(t.test) == 1
        for x, y in t.train + t.test:
            assert x.shape == y.shape and x.min() >= 0 and y.max() <= 9


def test_move_1p_moves_the_object_one_cell_right(tasks):
    # 1d_move_1p (Xu et al.): the object moves by one pixel; in this benchmark to the right
    for t in [t for t in tasks if t.task_type == "1d_move_1p"][:10]:
        for x, y in t.train + t.test:
            assert np.array_equal(_shift(x, 1), y)


def test_loader_from_env_and_subsets(monkeypatch, data_dir):
    monkeypatch.setenv("CAX_ZOO_DATA", str(data_dir))
    sub = load_arc1d(task_types=["1d_fill"], indices=range(15, 20))
    assert [t.name for t in sub] == [f"1d_fill_{i}" for i in range(15, 20)]
    with pytest.raises(DataError, match="unknown 1D-ARC task type"):
        load_arc1d(task_types=["1d_nothing"])


# ---------------------------------------------------------------- malformed files
GOOD_PAIR = {"input": [[0, 1, 1, 0]], "output": [[0, 0, 1, 1]]}


@pytest.mark.parametrize("payload, problem", [
    ({"train": [{"input": [0, 1, 1, 0], "output": [[0, 0, 1, 1]]}], "test": [GOOD_PAIR]}, "exactly one row"),
    ({"train": [{"input": [[0, 1], [1, 0]], "output": [[0, 0, 1, 1]]}], "test": [GOOD_PAIR]}, "exactly one row"),
    ({"train": [{"input": [[0, 12, 1, 0]], "output": [[0, 0, 1, 1]]}], "test": [GOOD_PAIR]}, "colour 12 outside 0-9"),
    ({"train": [{"input": [[0, 1, 1]], "output": [[0, 0, 1, 1]]}], "test": [GOOD_PAIR]}, "length 3 differs"),
    ({"train": [], "test": [GOOD_PAIR]}, "empty 'train'"),
    ({"test": [GOOD_PAIR]}, "'train'"),
    ({"train": [{"input": [[0, 1, 1, 0]]}], "test": [GOOD_PAIR]}, "'input' and 'output'"),
])
def test_malformed_file_names_file_and_problem(tmp_path, payload, problem):
    path = tmp_path / "1d_move_1p" / "1d_move_1p_3.json"
    path.parent.mkdir()
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError) as e:
        read_task(path)
    assert "1d_move_1p_3.json" in str(e.value) and problem in str(e.value)
    with pytest.raises(DataError, match="1d_move_1p_3.json"):
        load_arc1d(tmp_path)


def test_bad_json_and_missing_folder(tmp_path):
    path = tmp_path / "1d_fill" / "1d_fill_0.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(DataError, match=r"1d_fill_0.json:? (is )?not valid JSON"):
        load_arc1d(tmp_path)
    with pytest.raises(DataError, match="no 1D-ARC task files"):
        load_arc1d(tmp_path / "nowhere")


# ---------------------------------------------------------------- augmentation
def test_mirror_keeps_pairs_consistent(tasks):
    # a mirrored move-right task is a move-left task, in every pair of the task
    t = next(t for t in tasks if t.task_type == "1d_move_3p")
    m = mirror(t)
    for (x, y), (mx, my) in zip(t.train + t.test, m.train + m.test):
        assert np.array_equal(mx, x[::-1]) and np.array_equal(my, y[::-1])
        assert np.array_equal(_shift(mx, -3), my)
    assert mirror(m).train[0][0].tolist() == t.train[0][0].tolist()


def test_colour_permutation_keeps_pairs_consistent(tasks):
    rng = np.random.default_rng(0)
    t = next(t for t in tasks if t.task_type == "1d_move_1p")
    for _ in range(5):
        perm = random_colour_permutation(rng)
        assert perm[0] == 0 and sorted(perm) == list(range(10))
        p = permute_colours(t, perm)
        for (x, y), (px, py) in zip(t.train + t.test, p.train + p.test):
            assert np.array_equal(px, perm[x]) and np.array_equal(_shift(px, 1), py)
    with pytest.raises(DataError, match="permutation"):
        permute_colours(t, np.arange(10)[::-1])


def test_introduced_colours_are_kept_by_augmentation(tasks):
    # 1d_recolor_cnt: objects are recoloured by size, so the output colours are named by the rule
    t = next(t for t in tasks if t.task_type == "1d_recolor_cnt")
    fixed = introduced_colours(t)
    assert fixed and 0 not in fixed
    perm = random_colour_permutation(np.random.default_rng(1), fixed)
    assert all(perm[c] == c for c in fixed)


def test_padding_masks_real_cells():
    xs, ys, mask = pad_pairs([(np.array([1, 2]), np.array([2, 1])), (np.array([3]), np.array([3]))], 4)
    assert xs.tolist() == [[1, 2, 0, 0], [3, 0, 0, 0]] and mask.sum(1).tolist() == [2, 1]
    with pytest.raises(DataError, match="does not fit"):
        pad_pairs([(np.ones(5, int), np.ones(5, int))], 4)


# ---------------------------------------------------------------- scoring
def test_score_exact_match(tasks):
    sub = [t for t in tasks if t.index < 2][:6]
    perfect = [[y.copy() for _, y in t.test] for t in sub]
    r = score(sub, perfect)
    assert r["overall"] == 1.0 and r["n_tasks"] == 6 and all(v == 1.0 for v in r["per_task_type"].values())
    imperfect = [[y.copy() for _, y in t.test] for t in sub]
    imperfect[0][0][0] = (imperfect[0][0][0] + 1) % 10  # one wrong cell
    imperfect[1][0] = imperfect[1][0][:-1]  # output one cell short
    imperfect[2][0] = np.concatenate([imperfect[2][0], [0]])  # one cell too long, padding-like
    r = score(sub, imperfect)
    assert r["n_solved"] == 3 and r["overall"] == 0.5
    assert sub[0].name not in r["solved"] and sub[3].name in r["solved"]
    assert "overall" in format_table(r)


# ---------------------------------------------------------------- model, recipe, evaluation
def test_nca_config_round_trip_and_state():
    m = Arc1DNCA(hidden=12, features=8, default_steps=3, key=KEY)
    again = Arc1DNCA(**m.config(), key=KEY)
    assert again.config() == m.config()
    s = m.init_state(20)
    assert s.shape == (20, m.num_channels)
    out = m.rollout(s, 3)
    # zero-initialised output layer: a fresh NCA leaves the hidden channels at zero
    assert np.allclose(np.asarray(out), np.asarray(s))
    assert m.render(out).shape == (2, 20, 3)
    _, traj = m.rollout(s, 4, every=2, trajectory=True)
    (diagram,) = m.render_trajectory(traj)
    assert diagram.shape == (1 + 3, 20, 3)  # the input row, then the output at t = 0, 2, 4
    with pytest.raises(cax_zoo.StateError, match="0-9"):
        m.initial_state(np.array([0, 11]))


def test_ttt_settings_are_config_with_backward_compatible_defaults():
    # a config.json written before the test-time-training fields existed still loads
    old = {"hidden": 12, "features": 8, "radius": 2, "far": [], "default_steps": 3}
    m = Arc1DNCA(**old, key=KEY)
    assert (m.ttt_steps, m.ttt_lr, m.ttt_adapt, m.ttt_restarts, m.ttt_mirror) == (150, 3e-3, "all", 2, False)
    assert m.ttt_verify is False
    m = Arc1DNCA(**{**old, "ttt_steps": 20, "ttt_lr": 1e-3, "ttt_adapt": "bias", "ttt_restarts": 3,
                    "ttt_mirror": True, "ttt_verify": True}, key=KEY)
    assert Arc1DNCA(**m.config(), key=KEY).config() == m.config()
    assert m.config()["ttt_restarts"] == 3 and m.config()["ttt_mirror"] is True
    for bad in ({"ttt_adapt": "some"}, {"ttt_lr": 0.0}, {"ttt_steps": 0}, {"ttt_restarts": 0},
                {"ttt_mirror": "yes"}, {"ttt_verify": 1}, {"radius": 0}, {"far": [1]}, {"features": 10**7}, {"hidden": 3},
                {"default_steps": 0}):
        (field,) = bad
        with pytest.raises(cax_zoo.ConfigError, match=field):
            Arc1DNCA(**{**old, **bad}, key=KEY)
    with pytest.raises(cax_zoo.ConfigError, match="key"):
        Arc1DNCA(**old)


def test_pooled_feature_sees_the_whole_row_and_ignores_padding():
    import equinox as eqx
    import jax

    m = Arc1DNCA(hidden=12, features=8, default_steps=3, pooled=True, key=jax.random.PRNGKey(1))
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    assert m.perceive.weight.shape == (8, (5 + 1) * m.num_channels)
    assert Arc1DNCA(**m.config(), key=KEY).config() == m.config()
    run = lambda row, mask=None: m.predict_row(m.rollout(m.initial_state(row, mask), m.default_steps))
    x = np.array([0, 3, 3, 0, 7, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], np.int32)
    padded = np.concatenate([x, np.zeros(9, np.int32)])
    # padding cells (mask 0) do not enter the mean: the real cells' output is unchanged
    np.testing.assert_array_equal(run(padded, np.arange(29) < 20)[:20], run(x))
    # a change at the far end reaches cell 0 in one step (radius 2 alone could not)
    far = x.copy()
    far[-1] = 5
    one = lambda row: np.asarray(m.step(m.initial_state(row)))
    assert not np.allclose(one(x)[0], one(far)[0])
    plain = Arc1DNCA(hidden=12, features=8, default_steps=3, key=jax.random.PRNGKey(1))
    plain = eqx.tree_at(lambda m: m.update.mlp.weights[0], plain, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    step = lambda row: np.asarray(plain.step(plain.initial_state(row)))
    assert np.allclose(step(x)[0], step(far)[0]) and not np.allclose(step(x)[-1], step(far)[-1])
    with pytest.raises(cax_zoo.ConfigError, match="pooled"):
        Arc1DNCA(pooled="yes", key=KEY)


def _segment_means_numpy(x, mask, state):
    """Restatement: for each real cell, the mean of ``state`` over the real cells from one
    before to one after its maximal run of equal colour."""
    out = np.zeros_like(state)
    n = len(x)
    for i in range(n):
        if not mask[i]:
            continue
        a = i
        while a > 0 and mask[a - 1] and x[a - 1] == x[i]:
            a -= 1
        b = i
        while b < n - 1 and mask[b + 1] and x[b + 1] == x[i]:
            b += 1
        cells = [j for j in range(max(a - 1, 0), min(b + 1, n - 1) + 1) if mask[j]]
        out[i] = state[cells].mean(axis=0)
    return out


def test_segment_means_match_their_definition_and_ignore_padding():
    import jax

    from cax_zoo.arc1d import segment_means

    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(3, 30))
        x = rng.choice([0, 0, 0, 2, 5], size=n) if trial % 2 else rng.integers(0, 10, n)
        mask = np.arange(n) < n - int(rng.integers(0, 4))
        m = Arc1DNCA(hidden=12, features=8, key=KEY)
        state = np.array(m.initial_state(x, mask))
        state[:, 11:] = rng.normal(size=(n, 12)) * mask[:, None]
        got = np.asarray(jax.jit(segment_means, static_argnums=1)(state, 10))
        np.testing.assert_allclose(got, _segment_means_numpy(x, mask, state), rtol=1e-5, atol=1e-6)
    # an object's cells all see its two colours and its ends; no cell of another object does
    x = np.array([0, 0, 4, 7, 7, 7, 0, 0, 3, 3, 0])
    s = np.asarray(segment_means(m.initial_state(x), 10))
    assert np.allclose(s[3:6, 4], 0.2) and np.allclose(s[3:6, 0], 0.2) and np.all(s[8:10, 7] == 0)


def test_segment_pooled_model_sees_its_object_at_once_and_keeps_old_configs():
    import equinox as eqx
    import jax

    m = Arc1DNCA(hidden=12, features=8, default_steps=3, segment_pooled=True, key=jax.random.PRNGKey(1))
    assert m.perceive.weight.shape == (8, (5 + 1) * m.num_channels)
    assert Arc1DNCA(**m.config(), key=KEY).config() == m.config()
    old = {k: v for k, v in cax_zoo.load("arc1d_nca").config().items() if k != "segment_pooled"}
    assert Arc1DNCA(**old, key=KEY).segment_pooled is False
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    one = lambda row: np.asarray(m.step(m.initial_state(row)))
    # the far end of a 12-cell object changes the first cell of the object in one step ...
    x = np.array([0, 2] + [6] * 12 + [0, 0, 0, 5, 0, 0])
    y = x.copy()
    y[13] = 8
    assert not np.allclose(one(x)[2], one(y)[2])
    # ... but not a cell whose own segment (widened by one) and window leave it out
    assert np.allclose(one(x)[18], one(y)[18])
    with pytest.raises(cax_zoo.ConfigError, match="segment_pooled"):
        Arc1DNCA(segment_pooled=1, key=KEY)


def _directional_context_numpy(mask, state, decay):
    """Restatement: left[i] = (1 - decay) * sum over real j < i of decay**(i - 1 - j) * state[j];
    right[i] the same over real j > i with decay**(j - 1 - i)."""
    n = len(mask)
    left, right = np.zeros_like(state), np.zeros_like(state)
    for i in range(n):
        for j in range(n):
            if mask[j] and j < i:
                left[i] += (1 - decay) * decay ** (i - 1 - j) * state[j]
            if mask[j] and j > i:
                right[i] += (1 - decay) * decay ** (j - 1 - i) * state[j]
    return np.concatenate([left, right], axis=-1)


def test_directional_context_matches_its_definition_and_ignores_padding():
    import jax

    from cax_zoo.arc1d import directional_context

    rng = np.random.default_rng(0)
    m = Arc1DNCA(hidden=12, features=8, key=KEY)
    for trial in range(12):
        n = int(rng.integers(2, 40))
        x = rng.integers(0, 10, n)
        mask = np.arange(n) < n - int(rng.integers(0, 4))
        state = np.array(m.initial_state(x, mask))
        state[:, 11:] = rng.normal(size=(n, 12))  # padding's hidden channels must not count
        decay = float(rng.choice([0.0, 0.5, 0.8, 0.95]))
        got = np.asarray(jax.jit(directional_context, static_argnums=(1, 2))(state, 10, decay))
        np.testing.assert_allclose(got, _directional_context_numpy(mask, state, decay), rtol=1e-5, atol=1e-6)
    # the same real cells with more padding: the real cells' contexts do not change
    x = np.array([0, 3, 3, 0, 9, 0])
    short = np.asarray(directional_context(m.initial_state(x), 10, 0.8))
    padded = np.asarray(directional_context(m.initial_state(np.r_[x, 0, 0, 0], np.arange(9) < 6), 10, 0.8))
    np.testing.assert_allclose(padded[:6], short, rtol=1e-6, atol=1e-7)


def test_context_model_tells_left_from_right_and_keeps_old_configs():
    import equinox as eqx
    import jax

    m = Arc1DNCA(hidden=12, features=8, default_steps=3, context_decays=[0.8], key=jax.random.PRNGKey(1))
    assert m.perceive.weight.shape == (8, (5 + 2) * m.num_channels)
    assert Arc1DNCA(**m.config(), key=KEY).config() == m.config()
    old = {k: v for k, v in cax_zoo.load("arc1d_nca").config().items() if k != "context_decays"}
    assert Arc1DNCA(**old, key=KEY).context_decays == ()
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    one = lambda row: np.asarray(m.step(m.initial_state(row)))
    # a marker 6 cells left of the centre and one 6 cells right of it look different from the centre
    left, right = np.zeros(13, int), np.zeros(13, int)
    left[0], right[12] = 9, 9
    assert not np.allclose(one(left)[6], one(right)[6])
    # the row mean (pooled) alone cannot tell them apart
    plain = Arc1DNCA(hidden=12, features=8, default_steps=3, pooled=True, key=jax.random.PRNGKey(1))
    plain = eqx.tree_at(lambda m: m.update.mlp.weights[0], plain, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    step = lambda row: np.asarray(plain.step(plain.initial_state(row)))
    assert np.allclose(step(left)[6], step(right)[6])
    for bad in ([1.0], [-0.1], "0.8", [0.5] * 9):
        with pytest.raises(cax_zoo.ConfigError, match="context_decays"):
            Arc1DNCA(context_decays=bad, key=KEY)


def test_mirrored_restarts_predict_the_mirror_image_and_reverse_it_back():
    import equinox as eqx
    import jax

    from cax_zoo.arc1d import Arc1DTask, candidates, solve

    # an untrained rule that is not mirror-symmetric, so a wrong orientation shows
    m = Arc1DNCA(hidden=12, features=8, default_steps=3, key=jax.random.PRNGKey(1))
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    x = np.array([0, 3, 3, 0, 0, 7, 0, 1, 1, 1, 0, 0, 5], np.int32)
    task = Arc1DTask(name="t_0", task_type="t", index=0, train=((x, x),), test=((x, x[::-1].copy()),))
    (cands,) = candidates(m, [task], ttt_steps=0, votes=1, restarts=2, mirror=True)
    (c,) = cands
    direct = lambda row: m.predict_row(m.rollout(m.initial_state(row), m.default_steps))
    assert c.shape == (2, len(x))
    np.testing.assert_array_equal(c[0], direct(x))  # restart 0: the task as given
    np.testing.assert_array_equal(c[1], direct(x[::-1].copy())[::-1])  # restart 1: its mirror, reversed back
    assert not np.array_equal(c[0], c[1])  # the rule is not symmetric: the two orientations differ
    (plain,) = candidates(m, [task], ttt_steps=0, votes=1, restarts=2, mirror=False)
    np.testing.assert_array_equal(plain[0], np.stack([c[0], c[0]]))
    assert np.array_equal(solve(m, [task], ttt_steps=0, votes=1, restarts=3, mirror=True)[0][0], c[0])


def test_each_invariant_on_pairs_it_holds_on_and_pairs_it_breaks():
    from cax_zoo.arc1d import INVARIANTS, keeps_invariants

    a = lambda *v: np.array(v)
    x = a(0, 2, 2, 0, 5, 0, 0)
    cases = {  # name: (a pair that keeps it, a pair that breaks it), both from x
        "colour_counts": (a(0, 0, 2, 2, 5, 0, 0), a(0, 2, 2, 2, 5, 0, 0)),
        "nonzero_count": (a(0, 3, 3, 0, 5, 0, 0), a(0, 2, 2, 0, 0, 0, 0)),
        "nonzero_cells": (a(0, 1, 1, 0, 1, 0, 0), a(0, 0, 2, 2, 5, 0, 0)),
        "background_kept": (a(0, 2, 0, 0, 5, 0, 0), a(0, 2, 2, 2, 5, 0, 0)),
        "no_new_colours": (a(0, 5, 5, 5, 0, 0, 2), a(0, 2, 2, 0, 6, 0, 0)),
        "singletons_kept": (a(0, 0, 0, 2, 5, 0, 0), a(0, 2, 2, 5, 0, 0, 0)),
        "run_count": (a(0, 0, 0, 2, 0, 0, 5), a(0, 2, 2, 2, 2, 0, 0)),
        "run_lengths": (a(5, 0, 0, 2, 2, 0, 0), a(0, 2, 0, 0, 5, 5, 5)),
    }
    assert set(cases) == set(INVARIANTS)
    for name, (kept, broken) in cases.items():
        assert keeps_invariants(x, kept, [name]), name
        assert not keeps_invariants(x, broken, [name]), name
        assert not keeps_invariants(x, kept[:-1], [name]), name  # unequal lengths keep nothing
    assert keeps_invariants(x, a(0, 0, 0, 0, 0, 9, 9), [])  # no invariant asked: anything goes
    with pytest.raises(cax_zoo.ConfigError, match="unknown invariants.*colour_count'"):
        keeps_invariants(x, x, ["colour_count"])


def test_demonstrated_invariants_of_a_move_and_the_vote_among_the_rows_that_keep_them():
    from cax_zoo.arc1d import demonstrated_invariants, verified_rows

    pairs = [(np.array([2, 2, 0, 0]), np.array([0, 2, 2, 0])), (np.array([0, 7, 0, 0]), np.array([0, 0, 7, 0]))]
    assert demonstrated_invariants(pairs) == ("colour_counts", "nonzero_count", "no_new_colours", "run_count",
                                              "run_lengths")
    assert "singletons_kept" not in demonstrated_invariants(pairs)  # the 7 moved
    x = np.array([0, 4, 4, 4, 0, 0])
    rows = np.array([[0, 4, 4, 4, 4, 0], [0, 4, 4, 4, 4, 0], [0, 0, 4, 4, 4, 0]])  # the stretched row is the majority
    names = demonstrated_invariants(pairs)
    np.testing.assert_array_equal(verified_rows(rows, x, names), rows[2:])
    np.testing.assert_array_equal(verified_rows(rows[:2], x, names), rows[:2])  # none keeps them: all vote
    with pytest.raises(cax_zoo.DataError, match="at least one"):
        demonstrated_invariants([])
    for bad_rows, bad_x in ((rows[:, :-1], x), (rows[0], x), (rows[:0], x), (rows, x[None])):
        with pytest.raises(cax_zoo.DataError, match="rows .K >= 1, n. and an input"):
            verified_rows(bad_rows, bad_x, names)


def test_no_demonstrated_invariant_rejects_the_right_answer_on_any_real_task(tasks):
    from cax_zoo.arc1d import demonstrated_invariants, keeps_invariants

    counts = dict.fromkeys(("colour_counts", "run_lengths", "nonzero_cells"), 0)
    for t in tasks:
        names = demonstrated_invariants(t.train)
        for x, y in t.test:
            assert keeps_invariants(x, y, names), (t.name, names)
        for n in counts:
            counts[n] += n in names
    # the filter is not vacuous on the data: each of these binds on many tasks
    assert len(tasks) == 540 and min(counts.values()) >= 100, counts


def test_verified_solve_votes_only_among_rows_that_keep_the_demonstrations_invariants():
    import equinox as eqx

    from cax_zoo.arc1d import (
        Arc1DTask, candidates, demonstrated_invariants, keeps_invariants, majority_row, solve, verified_rows,
    )

    def model(seed, verify=False):  # an untrained rule with a random update: candidates of all kinds
        m = Arc1DNCA(hidden=12, features=8, default_steps=3, ttt_restarts=1, ttt_verify=verify,
                     key=jax.random.PRNGKey(seed))
        w = m.update.mlp.weights[0]
        return eqx.tree_at(lambda m: m.update.mlp.weights[0], m,
                           jax.random.normal(jax.random.PRNGKey(seed + 1), w.shape))

    x = np.array([0, 3, 3, 0, 0, 7, 0, 1, 1, 1, 0, 5, 0], np.int32)
    # the demonstration keeps only the number of one-colour runs (its singleton 4 is recoloured)
    demo = (np.array([0, 1, 1, 0, 4, 0]), np.array([2, 0, 0, 3, 3, 3]))
    task = Arc1DTask(name="t_0", task_type="t", index=0, train=(demo,), test=((x, x),))
    names, mask = demonstrated_invariants(task.train), np.ones(len(x), bool)
    assert names == ("run_count",)
    options = dict(ttt_steps=0, votes=8, num_perms=8)
    for seed in range(1, 40):  # a rule some but not all of whose candidates keep the run count
        m = model(seed)
        (cands,) = candidates(m, [task], **options)
        keeps = [keeps_invariants(x, r, names) for r in cands[0]]
        if any(keeps) and not keeps_invariants(x, majority_row(cands[0], mask), names):
            break
    else:
        pytest.fail("no random rule among 39 splits its candidates")
    plain = solve(m, [task], **options)[0][0]
    verified = solve(m, [task], verify=True, **options)[0][0]
    np.testing.assert_array_equal(plain, majority_row(cands[0], mask))
    np.testing.assert_array_equal(verified, majority_row(verified_rows(cands[0], x, names), mask))
    assert keeps_invariants(x, verified, names) and not keeps_invariants(x, plain, names)
    # the model's own ttt_verify is the default, and survives its config
    assert not m.ttt_verify and model(seed, True).config()["ttt_verify"] is True
    np.testing.assert_array_equal(solve(model(seed, True), [task], **options)[0][0], verified)
    np.testing.assert_array_equal(solve(model(seed, True), [task], verify=False, **options)[0][0], plain)
    with pytest.raises(cax_zoo.ConfigError, match="verify"):
        solve(m, [task], verify="yes", **options)


def test_fine_tuning_starts_from_the_stored_context_that_fits_the_demonstrations_best(tmp_path):
    import equinox as eqx

    from cax_zoo.arc1d import Arc1DTask, candidates, pairs_loss, shift_bias, with_contexts

    m = Arc1DNCA(hidden=12, features=8, default_steps=3, key=jax.random.PRNGKey(1))
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    x = np.array([0, 3, 3, 0, 0, 7, 0, 1, 1, 1, 0, 0, 5], np.int32)
    contexts = np.asarray(3.0 * jax.random.normal(jax.random.PRNGKey(3), (4, 8)))
    # the demonstration's target is what the third context's rule outputs: it must be picked
    direct = lambda model, row: model.predict_row(model.rollout(model.initial_state(row), model.default_steps))
    target = direct(shift_bias(m, contexts[2]), x)
    task = Arc1DTask(name="t_0", task_type="t", index=0, train=((x, target),), test=((x, target),))
    losses = [float(pairs_loss(shift_bias(m, c), x[None], target[None], np.ones((1, len(x)), bool), 3))
              for c in contexts]
    assert int(np.argmin(losses)) == 2
    (picked,) = candidates(m, [task], ttt_steps=0, votes=1, restarts=1, contexts=contexts)
    np.testing.assert_array_equal(picked[0][0], target)
    # a single zero context is the plain model
    (zero,) = candidates(m, [task], ttt_steps=0, votes=1, restarts=1, contexts=np.zeros((1, 8)))
    (plain,) = candidates(m, [task], ttt_steps=0, votes=1, restarts=1)
    np.testing.assert_array_equal(zero[0], plain[0])
    # a model carrying the contexts uses them by default, saves and loads them, and TTT leaves them alone
    carried = with_contexts(m, contexts)
    assert carried.config()["ttt_contexts"] == 4 and Arc1DNCA(**m.config(), key=KEY).contexts is None
    (own,) = candidates(carried, [task], ttt_steps=0, votes=1, restarts=1)
    np.testing.assert_array_equal(own[0], picked[0])
    cax_zoo.save_pretrained(carried, tmp_path / "m")
    loaded = cax_zoo.load_pretrained(tmp_path / "m")
    np.testing.assert_array_equal(loaded.contexts, contexts.astype(np.float32))
    from cax_zoo.arc1d import adapted_filter

    assert adapted_filter(carried).contexts is False
    for bad in (np.zeros((0, 8)), np.zeros((2, 7)), np.full((1, 8), np.nan)):
        with pytest.raises(cax_zoo.ConfigError, match="contexts"):
            with_contexts(m, bad)
    with pytest.raises(cax_zoo.ConfigError, match="contexts"):
        candidates(m, [task], ttt_steps=0, contexts=np.zeros((2, 5)))


def test_bias_only_test_time_training_keeps_the_weights(tasks):
    import equinox as eqx

    from cax_zoo.arc1d import adapt, task_arrays

    m = Arc1DNCA(hidden=12, features=8, default_steps=3, key=jax.random.PRNGKey(1))
    # a trained-like model: the output layer is zero only at initialisation
    w2 = m.update.mlp.weights[0]
    m = eqx.tree_at(lambda m: m.update.mlp.weights[0], m, 0.1 * jax.random.normal(jax.random.PRNGKey(2), w2.shape))
    t = next(t for t in tasks if t.task_type == "1d_move_1p")
    xs, ys, ms, ps = (jax.numpy.asarray(v[0]) for v in task_arrays([t], 36, num_perms=4)[:4])
    arrays = lambda model: (model.perceive.weight, model.perceive.bias, model.update.mlp.weights[0],
                            model.update.mlp.biases[0])
    for mode, changed in (("bias", (False, True, False, True)), ("all", (True, True, True, True))):
        tuned, losses = adapt(m, xs, ys, ms, ps, jax.random.PRNGKey(0), steps=3, ttt_steps=5, lr=1e-2, adapt=mode)
        assert losses.shape == (5,) and bool(jnp.isfinite(losses).all())
        assert tuple(not np.array_equal(a, b) for a, b in zip(arrays(tuned), arrays(m))) == changed


def _colour_model(**kw):
    """A colour-equivariant model with random (non-zero) update weights, as after training."""
    import equinox as eqx

    m = Arc1DNCA(hidden=30, features=40, colour_channels=2, colour_features=4, pooled=True, segment_pooled=True,
                 context_decays=[0.7], default_steps=4, key=jax.random.PRNGKey(1), **kw)
    leaves, tree = jax.tree_util.tree_flatten(m.update)
    keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
    update = jax.tree_util.tree_unflatten(tree, [0.05 * jax.random.normal(k, a.shape) for k, a in zip(keys, leaves)])
    return eqx.tree_at(lambda q: q.update, m, update)


def test_colour_model_commutes_with_permutations_of_colours_1_to_9():
    from cax_zoo.arc1d import logits

    m = _colour_model()
    rng = np.random.default_rng(0)
    x, mask = rng.integers(0, 10, 30), np.arange(30) < 26
    ref = np.asarray(logits(m, jnp.asarray(x), jnp.asarray(mask), 4))
    assert np.abs(ref[:26]).max() > 0.1  # the check below is not vacuous
    for seed in range(3):
        perm = np.concatenate([[0], 1 + np.random.default_rng(seed).permutation(9)])  # colour c -> perm[c]
        out = np.asarray(logits(m, jnp.asarray(perm[x]), jnp.asarray(mask), 4))
        np.testing.assert_allclose(out[:, perm], ref, atol=1e-5)
    # the per-colour biases (what task contexts shift) are what may tell colours apart
    import equinox as eqx

    shifted = eqx.tree_at(lambda q: q.perceive.bias, m, m.perceive.bias.at[-1].add(1.0))  # colour 9's last feature
    perm = np.array([0, 9, 2, 3, 4, 5, 6, 7, 8, 1])
    out = np.asarray(logits(shifted, jnp.asarray(perm[x]), jnp.asarray(mask), 4))
    assert not np.allclose(out[:, perm], np.asarray(logits(shifted, jnp.asarray(x), jnp.asarray(mask), 4)), atol=1e-3)


def test_colour_model_layout_identity_start_padding_and_round_trip(tmp_path):
    from cax_zoo.arc1d import colour_groups, logits

    colour, shared = colour_groups(30, 2)
    assert colour.shape == (9, 4) and shared.shape == (3 + 2 + 0,)
    assert sorted(np.concatenate([colour.ravel(), shared])) == list(range(11 + 30))  # every channel, once
    np.testing.assert_array_equal(colour[2], [3, 11 + 3, 21 + 6, 21 + 7])  # colour 3: one-hot, logit, carriers
    fresh = Arc1DNCA(hidden=30, features=40, colour_channels=2, colour_features=4, pooled=True, key=KEY)
    assert fresh.perceive.num_features == fresh.features == 40
    assert np.all(np.asarray(fresh.rollout(fresh.initial_state(np.array([0, 3, 3, 0])), 3))[:, 11:] == 0)
    m = _colour_model()
    x = np.array([0, 4, 4, 4, 0, 7, 0])
    short = np.asarray(logits(m, jnp.asarray(x), jnp.ones(7, bool), 4))
    padded = np.asarray(logits(m, jnp.asarray(np.r_[x, 0, 0, 0]), jnp.asarray(np.arange(10) < 7), 4))
    np.testing.assert_allclose(padded[:7], short, atol=1e-5)  # padding changes nothing
    assert np.all(np.asarray(m.rollout(m.initial_state(np.r_[x, 0, 0, 0], np.arange(10) < 7), 4))[7:, 11:] == 0)
    cax_zoo.save_pretrained(m, tmp_path / "m")
    back = cax_zoo.load_pretrained(tmp_path / "m")
    assert back.config() == m.config() and back.colour_channels == 2
    np.testing.assert_array_equal(np.asarray(logits(back, jnp.asarray(x), jnp.ones(7, bool), 4)), short)
    old = {k: v for k, v in cax_zoo.load("arc1d_nca").config().items() if not k.startswith("colour_")}
    assert Arc1DNCA(**old, key=KEY).colour_channels == 0  # released configs keep the plain rule
    for kw, field in (({"hidden": 29}, "colour_channels=2 needs hidden >= 30"),
                      ({"features": 36}, "features=36 leaves no shared features"),
                      ({"colour_channels": -1}, "colour_channels")):
        with pytest.raises(cax_zoo.ConfigError, match=field) as e:
            Arc1DNCA(**{"hidden": 30, "features": 40, "colour_channels": 2, "colour_features": 4, **kw}, key=KEY)
        assert "\n" not in str(e.value)


def test_colour_model_bias_only_training_keeps_its_weights(tasks):
    from cax_zoo.arc1d import adapt, adapted_filter, task_arrays

    m = _colour_model()
    spec = adapted_filter(m, "bias")
    names = [jax.tree_util.keystr(p) for p, v in jax.tree_util.tree_flatten_with_path(spec)[0] if v]
    assert names == [".perceive.bias", ".update.colour_bias", ".update.shared_bias"]
    t = next(t for t in tasks if t.task_type == "1d_flip")
    xs, ys, ms, ps = (jnp.asarray(v[0]) for v in task_arrays([t], 36, num_perms=4)[:4])
    tuned, losses = adapt(m, xs, ys, ms, ps, jax.random.PRNGKey(0), steps=3, ttt_steps=4, lr=1e-2, adapt="bias")
    assert bool(jnp.isfinite(losses).all())
    assert np.array_equal(tuned.perceive.colour_weight, m.perceive.colour_weight)
    assert not np.array_equal(tuned.perceive.bias, m.perceive.bias)


@pytest.mark.parametrize("field, value", [("lr", float("nan")), ("batch_tasks", 0), ("train_steps", 0),
                                          ("long_every", -1), ("eval_indices", [5, 2]), ("generated_per_type", -1),
                                          ("generated_per_type", 1.5)])
def test_recipe_config_errors_name_the_field(field, value):
    from recipes import arc1d_nca as recipe

    with pytest.raises(cax_zoo.ConfigError, match=field) as e:
        recipe.check_config({**recipe.SMOKE, field: value})
    assert "\n" not in str(e.value)


def test_recipe_smoke(tmp_path, data_dir):
    from recipes.arc1d_nca import main

    out = tmp_path / "run"
    assert main(["--smoke", "--out", str(out), "--no-progress", "--data", str(data_dir / "1d-arc"),
                 "--config", "type_contexts=true", "--config", "generated_per_type=2"]) == 0
    model = cax_zoo.load_pretrained(out / "arc1d_nca")
    assert isinstance(model, Arc1DNCA)
    assert model.contexts.shape == (36, model.features) and model.ttt_contexts == 36  # 18 types, and mirrored
    card = (out / "arc1d_nca" / "README.md").read_text()
    assert "instances 0-14" in card and "instances 15-15" in card and "best-fitting of 36" in card
    assert "2 tasks of each type generated by `cax_zoo.arc1d.generate_tasks` (seed 0; 36 in all)" in card
    # each generated task trained with its own context, as the real ones (and their mirror images)
    ckpt = json.loads((out / "checkpoints" / "checkpoint.json").read_text())
    from safetensors import safe_open
    with safe_open(str(out / "checkpoints" / ckpt["file"]), "np") as f:
        assert f.get_slice("context").get_shape() == [2 * (18 * 15 + 18 * 2), model.features]
    assert model.ttt_lr == 1e-3 and model.config()["ttt_adapt"] == "all" and model.ttt_restarts == 1
    # stop part-way, then resume from the checkpoint to the end
    out2 = tmp_path / "run2"
    args = ["--smoke", "--out", str(out2), "--no-progress", "--data", str(data_dir / "1d-arc")]
    assert main([*args, "--stop-after", "2"]) == 0 and not (out2 / "arc1d_nca").exists()
    assert main([*args, "--resume"]) == 0
    assert cax_zoo.load_pretrained(out2 / "arc1d_nca").contexts is None  # type_contexts is off by default
    # the colour-equivariant rule trains, saves and loads through the same recipe
    out3 = tmp_path / "run3"
    assert main(["--smoke", "--out", str(out3), "--no-progress", "--data", str(data_dir / "1d-arc"),
                 "--config", "colour_channels=1", "--config", "hidden=20", "--config", "features=12",
                 "--config", "colour_features=1"]) == 0
    model = cax_zoo.load_pretrained(out3 / "arc1d_nca")
    assert model.colour_channels == 1 and type(model.update).__name__ == "ColourUpdate"
    assert "The rule is colour-equivariant: 1 carrier channels" in (out3 / "arc1d_nca" / "README.md").read_text()


def test_type_contexts_are_the_mean_context_of_each_type_then_of_its_mirror_images():
    from recipes.arc1d_nca import type_contexts

    from cax_zoo.arc1d import Arc1DTask

    x = np.zeros(3, np.int32)
    tasks = [Arc1DTask(name=f"{ty}_{i}", task_type=ty, index=i, train=((x, x),), test=((x, x),))
             for ty, i in (("b", 0), ("a", 0), ("b", 1))]
    context = np.arange(12, dtype=np.float32).reshape(6, 2)  # row 2 i + f: task i, mirrored when f
    np.testing.assert_array_equal(type_contexts(tasks, context),
                                  [context[2], (context[0] + context[4]) / 2, context[3], (context[1] + context[5]) / 2])


def test_evaluate_small_subset_with_released_weights(data_dir):
    model = cax_zoo.load("arc1d_nca")
    r = evaluate(model, data=data_dir / "1d-arc", task_types=["1d_move_1p", "1d_denoising_mc"],
                 indices=[15, 16], ttt_steps=60, restarts=1, progress=False)
    assert r["n_tasks"] == 4 and set(r["per_task_type"]) == {"1d_move_1p", "1d_denoising_mc"}
    # two types the released model solves 89-100% of held-out; measured 4/4 here (10 s)
    assert r["n_solved"] >= 3, r["solved"]


def test_published_baselines_cover_every_task_type():
    from cax_zoo import arc1d as pub
    from cax_zoo.arc1d import TASK_TYPES

    assert set(pub.GPT4_PER_TYPE) == set(pub.CAX_NCA_PER_TYPE) == set(TASK_TYPES)
    # CAX's Table 2 totals are the mean over the 18 types (GPT-4 exactly; NCA 60.11 -> 60.12)
    assert abs(sum(pub.GPT4_PER_TYPE.values()) / 18 - pub.GPT4_OVERALL) < 0.01
    assert abs(sum(pub.CAX_NCA_PER_TYPE.values()) / 18 - pub.CAX_NCA_OVERALL) < 0.02


def test_table_prints_every_published_system_beside_ours():
    table = format_table({"per_task_type": {"1d_flip": 0.5, "1d_fill": 1.0}, "overall": 0.75,
                          "n_solved": 3, "n_tasks": 4}).splitlines()
    assert table[0].split()[:3] == ["task", "type", "ours"] and "GPT-4 obj" in table[0] and "ARC-VSA" in table[0]
    # per type: ours, GPT-4 on grids, CAX's NCA; the object-based GPT-4 and ARC-VSA publish overall only
    assert table[1].split() == ["1d_flip", "50.0", "70.0", "28.0", "n/a", "n/a"]
    assert table[3].split()[:6] == ["overall", "75.0", "41.6", "60.1", "83.9", "83.1"]
    assert all(name in "\n".join(table) for name in ("Xu et al.", "Faldor & Cully", "Joffe & Eliasmith"))
