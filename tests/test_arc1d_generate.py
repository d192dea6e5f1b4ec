"""Procedurally generated 1D-ARC tasks: each type's rule holds on every real task of
instances 0-14, and generated tasks follow their rule, are valid tasks within the ranges
instances 0-14 show, are varied and reproducible; bad arguments are one-line errors.

Only instances 0-14 are read here: 15-29 are validation and test data, never looked at.
"""

import dataclasses

import numpy as np
import pytest

from cax_zoo import ConfigError
from cax_zoo._families._arc1d_nca._generate import OBSERVED
from cax_zoo.arc1d import TASK_TYPES, Arc1DTask, follows_rule, generate_task, generate_tasks, load_arc1d

TRAINING = range(15)  # the instances pretraining sees
PER_TYPE = 50


@pytest.fixture(scope="module")
def real(data_dir):
    return load_arc1d(data_dir / "1d-arc", indices=TRAINING)


@pytest.fixture(scope="module")
def generated():
    return generate_tasks(TASK_TYPES, PER_TYPE, seed=0)


def _ranges(tasks):
    """Per type: (row lengths, non-background cells of inputs, of outputs) as (min, max)."""
    values = {}
    for t in tasks:
        for x, y in t.train + t.test:
            values.setdefault(t.task_type, []).append((len(x), np.count_nonzero(x), np.count_nonzero(y)))
    return {k: tuple((int(lo), int(hi)) for lo, hi in zip(np.min(v, 0), np.max(v, 0))) for k, v in values.items()}


# ---------------------------------------------------------------- the rules on real tasks
def test_every_real_task_of_instances_0_to_14_follows_its_rule(real):
    assert len(real) == 18 * 15 and {t.index for t in real} == set(TRAINING)
    assert [t.name for t in real if not follows_rule(t)] == []


def test_the_rules_tell_the_types_apart(real):
    # a type's rule accepts another type's real tasks only where one rule contains the
    # other: fill and padded_fill join pairs of cells alike, pcopy_1c and pcopy_mc copy
    # alike, move_2p_dp's move (2 cells, to the marker) is one of move_dp's, and a colour
    # per run size (recolor_cnt) also describes some odd/even and longest-run recolourings
    accepted = {(rule, t.task_type) for rule in TASK_TYPES for t in real
                if t.task_type != rule and follows_rule(dataclasses.replace(t, task_type=rule))}
    assert accepted == {
        ("1d_fill", "1d_padded_fill"), ("1d_padded_fill", "1d_fill"),
        ("1d_pcopy_1c", "1d_pcopy_mc"), ("1d_pcopy_mc", "1d_pcopy_1c"),
        ("1d_move_dp", "1d_move_2p_dp"),
        ("1d_recolor_cnt", "1d_recolor_oe"), ("1d_recolor_cnt", "1d_recolor_cmp"),
    }


def test_a_task_off_its_rule_fails(real):
    task = next(t for t in real if t.task_type == "1d_move_1p")
    (x, y), = task.test
    assert not follows_rule(dataclasses.replace(task, test=((x, np.roll(y, 1)),)))
    # recolouring targets are read off the demonstrations: demonstrations that disagree fail
    task = next(t for t in real if t.task_type == "1d_recolor_oe")
    (x0, y0), *rest = task.train
    even, odd = sorted(set(y0.tolist()) - {0})  # the first demonstration shows both targets
    swapped = np.select([y0 == even, y0 == odd], [odd, even], y0).astype(np.int8)
    assert follows_rule(task) and not follows_rule(dataclasses.replace(task, train=((x0, swapped), *rest)))


def test_the_observed_ranges_are_those_of_instances_0_to_14(real):
    assert _ranges(real) == OBSERVED


# ---------------------------------------------------------------- generated tasks
def test_generated_tasks_are_valid_and_follow_their_rule(generated):
    assert [t.task_type for t in generated] == [t for t in TASK_TYPES for _ in range(PER_TYPE)]
    for t in generated:
        assert isinstance(t, Arc1DTask) and len(t.train) == 3 and len(t.test) == 1
        assert t.name == f"{t.task_type}_gen{t.index}" and 0 <= t.index < PER_TYPE
        grids = [g for pair in t.train + t.test for g in pair]
        assert all(g.dtype == np.int8 and g.ndim == 1 and 0 <= g.min() and g.max() <= 9 for g in grids)
        assert len({len(g) for g in grids}) == 1, t.name  # one row length per task, as in the data
        assert follows_rule(t), t.name


def test_generated_tasks_lie_in_the_ranges_of_instances_0_to_14(real, generated):
    seen = _ranges(real)
    for t in generated:
        (length, cells_in, cells_out) = seen[t.task_type]
        for x, y in t.train + t.test:
            assert length[0] <= len(x) <= length[1], t.name
            assert cells_in[0] <= np.count_nonzero(x) <= cells_in[1], t.name
            assert cells_out[0] <= np.count_nonzero(y) <= cells_out[1], t.name


def test_generated_inputs_are_varied(generated):
    for task_type in TASK_TYPES:
        tasks = [t for t in generated if t.task_type == task_type]
        inputs = {x.tobytes() for t in tasks for x, _ in t.train + t.test}
        assert len(inputs) > 3 * PER_TYPE, task_type
        lo, hi = OBSERVED[task_type][0]
        assert len({t.max_length for t in tasks}) >= min(hi - lo + 1, 5), task_type
        for t in tasks:  # the test input is none of the demonstration inputs (nor are those alike)
            xs = [x.tobytes() for x, _ in t.train + t.test]
            assert len(set(xs)) == 4, t.name


def test_the_recolouring_targets_vary_from_task_to_task(generated):
    for task_type in ("1d_recolor_cmp", "1d_recolor_cnt", "1d_recolor_oe"):
        targets = {tuple(sorted(set(np.concatenate([y for _, y in t.train]).tolist()) - {0}))
                   for t in generated if t.task_type == task_type}
        assert len(targets) > 20, task_type


def test_the_same_seed_gives_the_same_tasks(generated):
    def arrays(tasks):
        return [(t.name, [g.tolist() for pair in t.train + t.test for g in pair]) for t in tasks]

    again = generate_tasks(["1d_flip", "1d_mirror"], 4, seed=0)
    assert arrays(again) == arrays([t for t in generated if t.task_type in ("1d_flip", "1d_mirror") and t.index < 4])
    other = generate_tasks(["1d_flip", "1d_mirror"], 4, seed=1)
    assert all(a != b for a, b in zip(arrays(again), arrays(other)))
    assert generate_tasks(["1d_fill"], 0, seed=0) == []
    task = generate_task("1d_hollow", np.random.default_rng(3), index=7)
    assert task.name == "1d_hollow_gen7" and task.index == 7 and follows_rule(task)
    assert arrays([task]) == arrays([generate_task("1d_hollow", np.random.default_rng(3), index=7)])


@pytest.mark.parametrize("call, message", [
    (lambda: generate_tasks(["1d_nothing"], 1, 0), "unknown 1D-ARC task type '1d_nothing'"),
    (lambda: generate_tasks("1d_fill", 1, 0), "task_types must be a list of 1D-ARC task type names"),
    (lambda: generate_tasks(["1d_fill"], -1, 0), "per_type must be >= 0, got -1"),
    (lambda: generate_tasks(["1d_fill"], 2.5, 0), "per_type must be an integer, got 2.5"),
    (lambda: generate_tasks(["1d_fill"], 1, -3), "seed must be >= 0, got -3"),
    (lambda: generate_task("1d_fil", np.random.default_rng(0)), "unknown 1D-ARC task type '1d_fil'"),
    (lambda: generate_task("1d_fill", 0), "rng must be a numpy.random.Generator, got int"),
    (lambda: generate_task("1d_fill", np.random.default_rng(0), index=-1), "index must be >= 0, got -1"),
    (lambda: follows_rule("1d_fill_0"), "task must be an Arc1DTask, got str"),
])
def test_bad_arguments_are_one_line_errors(call, message):
    with pytest.raises(ConfigError) as e:
        call()
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_task_of_an_unknown_type_is_a_one_line_error(real):
    with pytest.raises(ConfigError, match=r"^unknown 1D-ARC task type '1d_other'; known: 1d_denoising_1c, [^\n]*$"):
        follows_rule(dataclasses.replace(real[0], task_type="1d_other"))
