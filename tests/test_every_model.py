"""Every registered model runs end to end: init, a short batched rollout, render, GIF."""

import jax
import numpy as np
import pytest

import cax_zoo

NAMES = cax_zoo.list_models()


def _model(name):
    """The released model, or a fresh one (with a key where parameters are random)."""
    if cax_zoo.list_models(name, pretrained=True) or not cax_zoo.get_entry(name).learned:
        return cax_zoo.load(name)
    return cax_zoo.create(name, key=jax.random.PRNGKey(0))


@pytest.mark.parametrize("name", NAMES)
def test_model_runs_and_renders(name, tmp_path):
    model = _model(name)
    state = model.init_state()
    assert model.check_state(state) == 0
    final, traj = model.rollout(state, 4, every=2, trajectory=True, key=jax.random.PRNGKey(0))
    leaves = jax.tree_util.tree_leaves(final)
    assert all(np.all(np.isfinite(np.asarray(x, dtype=np.float64))) for x in leaves)
    image = model.render(final)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
    frames = model.render_trajectory(traj)
    assert frames and all(f.dtype == np.uint8 and f.shape[-1] == 3 for f in frames)
    cax_zoo.write_gif(tmp_path / "x.gif", frames)


@pytest.mark.parametrize("name", NAMES)
def test_model_has_docs_page(name):
    """Each family has a page under docs/families/."""
    from pathlib import Path

    family = cax_zoo.family_name(_model(name))
    page = Path(__file__).resolve().parents[1] / "docs" / "families" / f"{family}.md"
    assert page.is_file(), f"no docs page for family {family!r}"
