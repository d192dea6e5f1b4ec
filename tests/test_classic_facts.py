"""Known facts about the classic discrete families (elementary CA, Life-like rules) and the
RLE pattern format, from the literature (Wolfram's NKS, OEIS, LifeWiki)."""

from math import comb

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cax_zoo
from cax_zoo import ConfigError, RuleError, StateError, parse_rle, place
from cax_zoo._families._life import format_rule, parse_rule

FAST = settings(max_examples=25, deadline=None)


def cells(state):
    return np.asarray(state)[..., 0]


def run(model, state, steps):
    return cells(model.rollout(state, steps))


# ------------------------------------------------------------------- elementary CA

# OEIS A051023: middle column of rule 30 from a lone 1 cell, a(0..101).
A051023 = [
    1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1,
    1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0,
    1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0,
    0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1,
]


def test_rule_30_centre_column_is_oeis_a051023():
    n = len(A051023)
    m = cax_zoo.create("elementary", rule=30)
    width = 2 * n + 3  # the light cone never wraps round
    _, traj = m.rollout(m.init_state(width), n - 1, trajectory=True)
    assert cells(traj)[:, width // 2].tolist() == A051023


def test_rule_90_from_one_cell_is_pascals_triangle_mod_2():
    t_max = 64
    width = 2 * t_max + 3
    m = cax_zoo.create("elementary", rule=90)
    _, traj = m.rollout(m.init_state(width), t_max, trajectory=True)
    traj = cells(traj)
    c = width // 2
    for t in range(t_max + 1):
        expected = np.zeros(width, np.uint8)
        for k in range(t + 1):
            expected[c - t + 2 * k] = comb(t, k) % 2
        assert np.array_equal(traj[t], expected), t


binary_rows = st.lists(st.integers(0, 1), min_size=3, max_size=40).map(
    lambda v: np.array(v, np.uint8)[:, None]
)


@FAST
@given(binary_rows, st.integers(1, 30))
def test_rule_184_conserves_cars(row, steps):
    m = cax_zoo.create("elementary", rule=184)
    assert run(m, row, steps).sum() == row.sum()


@FAST
@given(st.data(), st.sampled_from([90, 150]))
def test_rules_90_and_150_are_additive(data, rule):
    n = data.draw(st.integers(3, 40))
    a, b = (np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.uint8)[:, None]
            for _ in range(2))
    m = cax_zoo.create("elementary", rule=rule)
    assert np.array_equal(run(m, a ^ b, 5), run(m, a, 5) ^ run(m, b, 5))


@FAST
@given(binary_rows, st.integers(0, 255))
def test_elementary_zero_and_periodic_boundaries_agree_inside(row, rule):
    a = run(cax_zoo.create("elementary", rule=rule, boundary="zero"), row, 1)
    b = run(cax_zoo.create("elementary", rule=rule, boundary="periodic"), row, 1)
    assert np.array_equal(a[1:-1], b[1:-1])


def test_rule_150_is_totalistic_code_10():
    # NKS: rule 150 is the sum mod 2 of the three cells, i.e. k=2 totalistic code 10.
    row = np.asarray(jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, (64, 1)), np.uint8)
    a = cax_zoo.create("elementary", rule=150)
    b = cax_zoo.create("elementary", rule=10, totalistic=True)
    assert np.array_equal(run(a, row, 20), run(b, row, 20))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 3**7 - 1))
def test_totalistic_rule_equals_the_general_rule_built_from_its_table(code):
    k = 3
    table = [(code // k**s) % k for s in range(7)]  # new colour for neighbourhood sum s
    general = sum(table[sum(int(d) for d in np.base_repr(p, k))] * k**p for p in range(k**3))
    row = np.asarray(jax.random.randint(jax.random.PRNGKey(code), (40, 1), 0, k), np.uint8)
    a = cax_zoo.create("elementary", rule=code, num_colours=k, totalistic=True)
    b = cax_zoo.create("elementary", rule=general, num_colours=k)
    assert np.array_equal(run(a, row, 10), run(b, row, 10))


@pytest.mark.parametrize(
    "kwargs",
    [dict(rule=256), dict(rule=-1), dict(rule=3**7, num_colours=3, totalistic=True),
     dict(rule=30.0), dict(rule="thirty"), dict(rule=30, num_colours=1)],
)
def test_elementary_rule_out_of_range_raises(kwargs):
    with pytest.raises(RuleError):
        cax_zoo.create("elementary", **kwargs)


def test_elementary_rejects_colours_beyond_its_rule():
    with pytest.raises(StateError, match="0..1"):
        cax_zoo.create("elementary", rule=30).rollout(np.full((8, 1), 2, np.uint8), 1)


# ------------------------------------------------------------------- Life


def test_glider_has_period_4_and_moves_one_cell_diagonally():
    life = cax_zoo.create("life")
    s = place("glider", 16, at=(2, 2))
    assert np.array_equal(run(life, s, 4), cells(place("glider", 16, at=(3, 3))))
    assert all(run(life, s, t).sum() == 5 for t in range(1, 4))


def test_blinker_has_period_2():
    life = cax_zoo.create("life")
    s = place("blinker", 9)
    assert not np.array_equal(run(life, s, 1), cells(s))
    assert np.array_equal(run(life, s, 1), cells(s).T)
    assert np.array_equal(run(life, s, 2), cells(s))


def test_lwss_has_period_4_and_moves_two_cells():
    life = cax_zoo.create("life")
    s = place("lwss", (12, 20), at=(4, 10))
    assert np.array_equal(run(life, s, 4), cells(place("lwss", (12, 20), at=(4, 8))))


def test_r_pentomino_has_116_cells_at_generation_1103():
    # LifeWiki: stabilises at generation 1103 with population 116 (incl. 6 gliders). Gliders
    # move c/4, so on a 1024-torus they travel < 280 cells and never wrap onto the debris.
    life = cax_zoo.create("life")
    s = life.rollout(place("r_pentomino", 1024), 1103)
    _, traj = life.rollout(s, 6, trajectory=True)
    pop = np.asarray(traj).reshape(traj.shape[0], -1).sum(1)
    assert pop.tolist() == [116] * 7  # and stable from then on


def test_gosper_gun_has_period_30_and_emits_one_glider():
    life = cax_zoo.create("life", boundary="zero")
    s = place("gosper_glider_gun", (64, 96), at=(1, 1))
    _, traj = life.rollout(s, 150, trajectory=True)
    traj = cells(traj)
    pop = traj.reshape(len(traj), -1).sum(1)
    assert pop[0] == 36
    assert all(pop[t + 30] - pop[t] == 5 for t in range(120))  # one glider per period
    gun = (slice(0, 10), slice(0, 38))
    assert np.array_equal(traj[30][gun], traj[0][gun])
    outside = traj[30].copy()
    outside[gun] = 0
    rows, cols = np.nonzero(outside)
    assert len(rows) == 5 and np.ptp(rows) == 2 and np.ptp(cols) == 2  # a glider


def test_highlife_replicator_copies_itself_every_12_generations():
    # The replicator's copies add up mod 2, like rule 90: after 12k generations there is a
    # copy at 2(2j - k)(1, 1) for every j with C(k, j) odd.
    pattern = parse_rle("highlife_replicator")
    assert pattern.rule == "B36/S23"
    highlife = cax_zoo.create("life", rule=pattern.rule)
    corner = 30
    s = place(pattern, 64, at=(corner, corner))
    for k in (1, 2, 3, 4):
        expected = np.zeros((64, 64), np.uint8)
        for j in range(k + 1):
            if comb(k, j) % 2:
                expected ^= cells(place(pattern, 64, at=(corner + 2 * (2 * j - k),) * 2))
        assert np.array_equal(run(highlife, s, 12 * k), expected), k


@FAST
@given(st.integers(0, 2**31 - 1))
def test_seeds_every_live_cell_dies(seed):
    seeds = cax_zoo.create("life/seeds")
    s = seeds.init_state(24, key=jax.random.PRNGKey(seed), density=0.3)
    assert not np.any(cells(s) & run(seeds, s, 1))


def test_one_dimensional_life_rules_are_elementary_rules():
    # Outer totalistic radius-1 rules in 1-D: B1/S1 is rule 90 (left XOR right), B1/S is rule 18.
    row = np.asarray(jax.random.bernoulli(jax.random.PRNGKey(2), 0.5, (50, 1)), np.uint8)
    for life_rule, wolfram in (("B1/S1", 90), ("B1/S", 18)):
        life = cax_zoo.create("life", rule=life_rule, num_spatial_dims=1)
        ca = cax_zoo.create("elementary", rule=wolfram)
        assert np.array_equal(run(life, row, 15), run(ca, row, 15)), life_rule


def test_three_dimensional_life_on_an_extruded_pattern_is_2d_life():
    # A 2-D pattern repeated on 3 periodic layers: a cell's 3-D count is 3n + 2s (n its 2-D
    # neighbours, s itself), so B3/S23 becomes B9/S8,11 in 3-D.
    life2 = cax_zoo.create("life")
    life3 = cax_zoo.create("life", rule="B9/S8,11", num_spatial_dims=3)
    s2 = life2.init_state(20, key=jax.random.PRNGKey(3))
    s3 = np.repeat(np.asarray(s2)[:, :, None, :], 3, axis=2)
    out3 = run(life3, s3, 8)
    assert np.array_equal(out3[:, :, 1], run(life2, s2, 8))
    assert np.array_equal(out3[:, :, 0], out3[:, :, 2])


def test_life_zero_and_periodic_boundaries_agree_inside():
    for seed in range(5):
        s = cax_zoo.create("life").init_state((17, 23), key=jax.random.PRNGKey(seed))
        a = run(cax_zoo.create("life", boundary="zero"), s, 1)
        b = run(cax_zoo.create("life", boundary="periodic"), s, 1)
        assert np.array_equal(a[1:-1, 1:-1], b[1:-1, 1:-1])


def test_life_treats_any_nonzero_cell_as_alive():
    life = cax_zoo.create("life")
    s = np.asarray(place("blinker", 9)).astype(np.int32) * 256
    assert np.array_equal(run(life, s, 2), cells(place("blinker", 9)))


def counts(max_count):
    return st.sets(st.integers(0, max_count)).map(lambda c: tuple(sorted(c)))


@FAST
@given(st.integers(1, 3).flatmap(lambda d: st.tuples(st.just(d), counts(3**d - 1), counts(3**d - 1))))
def test_rule_parser_accepts_what_it_formats(args):
    d, birth, survive = args
    assert parse_rule(format_rule(birth, survive), d) == (birth, survive)
    assert cax_zoo.create("life", rule=format_rule(birth, survive), num_spatial_dims=d).rule == format_rule(birth, survive)


@pytest.mark.parametrize(
    "rule",
    ["B9/S23", "B3S23x", "", "B3/S2/3", "B3/S23 x", "B33/S23", "S23/B3", "B3/S2,,3", "B3,/S23",
     "B/S9", "life2", None, 23],
)
def test_rule_parser_rejects_garbage(rule):
    with pytest.raises(RuleError):
        cax_zoo.create("life", rule=rule)


@FAST
@given(st.text(alphabet="BS/0123456789,x ", max_size=12))
def test_rule_parser_only_raises_rule_error(text):
    try:
        birth, survive = parse_rule(text)
    except RuleError:
        return
    assert all(0 <= c <= 8 for c in birth + survive)


def test_life_rejects_bad_dimensions():
    with pytest.raises(ConfigError):
        cax_zoo.create("life", num_spatial_dims=0)


# ------------------------------------------------------------------- RLE


def test_parse_rle_glider_with_comments_and_line_breaks():
    text = "#N Glider\n#C a comment\nx = 3, y = 3, rule = B3/S23\nbo$2b\no$3o!\n"
    p = parse_rle(text)
    assert p.rule == "B3/S23"
    assert p.cells.tolist() == [[0, 1, 0], [0, 0, 1], [1, 1, 1]]
    assert parse_rle("x = 3, y = 3, rule = 23/3\nbo$2bo$3o!").rule == "B3/S23"  # legacy S/B
    assert parse_rle("x=4,y=3\n2o$$3bo!").cells.tolist() == [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]


def test_named_patterns_have_their_known_populations():
    expected = {"glider": 5, "blinker": 3, "block": 4, "lwss": 9, "r_pentomino": 5,
                "gosper_glider_gun": 36, "highlife_replicator": 12}
    assert {name: int(parse_rle(name).cells.sum()) for name in expected} == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("bo$2bo$3o!", "header"),
        ("x = 3\nbo$2bo$3o!", "header"),
        ("x = 3, y = 3\nbo$2bo$3o", "'!'"),
        ("x = 2, y = 2\n3o!", "overflows"),
        ("x = 3, y = 1\no$o!", "overflows"),
        ("x = 3, y = 3\nbo$2bx$3o!", "bad RLE body"),
        ("x = 3, y = 3\n0o!", "zero run"),
        ("x = 3, y = 3\n3o2!", "bad RLE body"),
        ("x = 3, y = 3, rule = B9/S23\n3o!", "B9"),
        ("x = 3, y = 3, rule = B3/S23:T10,10\n3o!", "rule"),
    ],
)
def test_parse_rle_rejects_malformed_input(text, match):
    with pytest.raises(RuleError, match=match):
        parse_rle(text)


def test_place_checks_its_arguments():
    s = place("glider", (10, 12))
    assert s.shape == (10, 12, 1) and s.dtype == np.uint8 and int(s.sum()) == 5
    assert np.array_equal(place(np.array([[1, 0], [0, 1]], bool), 4, at=(2, 2))[2:, 2:, 0], np.eye(2))
    with pytest.raises(StateError, match="does not fit"):
        place("gosper_glider_gun", 20)
    with pytest.raises(StateError, match="does not fit"):
        place("glider", 10, at=(8, 0))
    with pytest.raises(StateError):
        place("glider", (10, 0))
    with pytest.raises(StateError):
        place(np.zeros((2, 2, 2)), 10)
