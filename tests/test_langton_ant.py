"""Langton's ant: the classic ant's highway, multi-colour rules, state validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, RuleError, StateError
from cax_zoo._families._langton_ant import AntState, LangtonAnt


@pytest.fixture(scope="module")
def highway():
    """The classic ant on an empty 128x128 torus, sampled every 104 steps up to 12,064."""
    ant = cax_zoo.create("langton_ant")
    _, traj = ant.rollout(ant.init_state(128), 116 * 104, every=104, trajectory=True)
    black = np.asarray(traj.grid).reshape(len(traj.position), -1).sum(1)
    return black, np.asarray(traj.position)


def test_first_moves_of_the_classic_ant():
    # white: turn right, flip, move; four right turns bring it home facing up again.
    ant = LangtonAnt("RL")
    s = ant.init_state(9)
    _, traj = ant.rollout(s, 5, trajectory=True)
    pos = np.asarray(traj.position).tolist()
    assert pos[:5] == [[4, 4], [4, 5], [5, 5], [5, 4], [4, 4]]
    assert int(traj.direction[4]) == 0 and int(np.asarray(traj.grid[4]).sum()) == 4
    assert pos[5] == [4, 3]  # on a black cell it turns left, and the cell turns white
    assert int(np.asarray(traj.grid[5]).sum()) == 3


def test_classic_ant_builds_the_period_104_highway(highway):
    # Known: after about 10,000 steps the ant repeats a 104-step cycle that moves it two
    # cells diagonally and adds 12 black cells: the "highway".
    black, pos = highway
    for i in range(97, 116):  # steps 10,088 .. 12,064
        d = pos[i + 1] - pos[i]
        assert abs(d[0]) == 2 and abs(d[1]) == 2, i * 104
        assert black[i + 1] - black[i] == 12, i * 104
    assert np.all(pos[97:] > 0) and np.all(pos[97:] < 127)  # it never wrapped round
    # before the highway the motion is chaotic: no 104-step cycle at 5,000 steps
    early = [tuple(pos[i + 1] - pos[i]) for i in range(40, 60)]
    assert len(set(early)) > 1


def test_uniform_right_turns_go_round_a_square():
    ant = LangtonAnt("RR")  # every cell turns right: a 2x2 circuit, period 8
    s = ant.init_state(6)
    _, traj = ant.rollout(s, 8, trajectory=True)
    assert np.array_equal(traj.position[8], s.position)
    assert int(np.asarray(traj.grid[4]).sum()) == 4 and int(np.asarray(traj.grid[8]).sum()) == 0
    assert len({tuple(p) for p in np.asarray(traj.position).tolist()}) == 4


def test_multicolour_rules_cycle_colours():
    ant = LangtonAnt("LLRR")
    f = ant.rollout(ant.init_state(64), 2000)
    assert set(np.unique(np.asarray(f.grid)).tolist()) <= {0, 1, 2, 3}
    assert np.asarray(f.grid).max() == 3
    n_turn = LangtonAnt("NU")  # go straight on colour 0, turn back on colour 1
    f = n_turn.rollout(n_turn.init_state(8), 3)
    # up from (4,4): colour 0 -> straight to (3,4); again to (2,4); then (1,4)
    assert np.asarray(f.position).tolist() == [1, 4]


@pytest.mark.parametrize("rule", ["", "R", "RX", "LR-", "RL ", 12, None, "R" * 256])
def test_bad_rules_raise(rule):
    if rule == "RL ":  # surrounding spaces are stripped: a valid rule
        assert LangtonAnt(rule).rule == "RL"
        return
    with pytest.raises(RuleError):
        LangtonAnt(rule)


def test_unsupported_boundary_raises():
    with pytest.raises(ConfigError, match="periodic"):
        LangtonAnt("RL", boundary="zero")


def test_batched_ants_match_single_runs():
    ant = LangtonAnt("RLR")
    states = [ant.init_state(32), ant.init_state(32, key=jax.random.PRNGKey(0))]
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *states)
    assert ant.check_state(batch) == 1 and ant.check_state(states[0]) == 0
    out = ant.rollout(batch, 300)
    for i, s in enumerate(states):
        single = ant.rollout(s, 300)
        assert np.array_equal(out.grid[i], single.grid)
        assert np.array_equal(out.position[i], single.position)


def test_state_validation():
    ant = LangtonAnt("RL")
    s = ant.init_state(8)
    with pytest.raises(StateError, match="AntState"):
        ant.rollout(np.zeros((8, 8, 1), np.uint8), 1)
    with pytest.raises(StateError, match="2 colours"):
        ant.rollout(s._replace(grid=s.grid.at[0, 0, 0].set(2)), 1)
    with pytest.raises(StateError, match="position"):
        ant.rollout(s._replace(position=jnp.zeros(3, jnp.int32)), 1)
    with pytest.raises(StateError, match="grid"):
        ant.rollout(s._replace(grid=jnp.zeros((8, 8), jnp.uint8)), 1)
    with pytest.raises(StateError, match="integers"):
        ant.rollout(s._replace(direction=jnp.float32(0)), 1)


def test_render_marks_the_ant_and_config_round_trips(tmp_path):
    ant = cax_zoo.create("langton_ant/llrr")
    s = ant.rollout(ant.init_state(16), 50)
    img = ant.render(s)
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    r, c = np.asarray(s.position)
    assert img[r, c].tolist() == [255, 0, 0]
    folder = cax_zoo.save_pretrained(ant, tmp_path / "ant")
    again = cax_zoo.load_pretrained(folder)
    assert again.config() == {"rule": "LLRR", "boundary": "periodic"}
