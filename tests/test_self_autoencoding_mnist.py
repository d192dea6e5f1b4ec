"""Self-autoencoding MNIST (CAX): the 3-D model, its wall and clamp, the evaluation, the
recipe end to end, and bad input."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import cax_zoo
from cax_zoo import ConfigError, DataError, SelfAutoencodingMNIST, StateError
from cax_zoo._cli import main as cli
from cax_zoo.mnist import load_mnist
from cax_zoo.nca import KernelPerceive
from cax_zoo.self_autoencoding_mnist import (
    EVAL_KEY, evaluate, reconstruct, resize_digits, through_wall, upsample,
)
from cax_zoo.training import make_optimizer

from recipes import self_autoencoding_mnist as recipe

KEY = jax.random.PRNGKey(0)
TINY = dict(image_size=8, depth=5, num_channels=4, hidden_units=8, steps=3)


def _digits(n=2):
    d = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        d[i, 6 + i : 22, 12 : 16 + i] = 255 - 40 * i
    return d


def _noisy_last_layer(model, scale=0.5):
    """``model`` with a random (non-zero) output layer, so a step changes every cell."""
    w = model.update.nca.mlp.weights[-1]
    return eqx.tree_at(lambda m: m.update.nca.mlp.weights[-1], model,
                       scale * jax.random.normal(jax.random.PRNGKey(7), w.shape))


def test_perception_is_identity_and_3d_sobel_4_kernels():
    m = SelfAutoencodingMNIST(**TINY, key=KEY)
    assert isinstance(m.perceive, KernelPerceive) and m.perceive.num_features == 4 * TINY["num_channels"]
    x = jax.random.normal(KEY, (6, 5, 7, TINY["num_channels"]))
    f = np.asarray(m.perceive(x)).reshape(6, 5, 7, TINY["num_channels"], 4)
    np.testing.assert_array_equal(f[..., 0], x)  # identity first, then d/dx, d/dy, d/dz
    # the z-gradient of an interior cell, restated: [1 2 1] x [1 2 1] smoothing of a central difference, / 32
    w = np.einsum("i,j->ij", [1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 32
    xn = np.asarray(x)
    expect = sum(w[i, j] * (xn[1 + i, 1 + j, 4] - xn[1 + i, 1 + j, 2]) for i in range(3) for j in range(3))
    np.testing.assert_allclose(f[2, 2, 3, :, 3], expect, rtol=1e-5, atol=1e-6)


def test_states_shapes_render_and_fresh_model_is_identity():
    m = SelfAutoencodingMNIST(**TINY, key=KEY)
    s = m.initial_state(_digits())
    assert s.shape == (2, 8, 8, 5, 4) and m.check_state(s) == 1
    np.testing.assert_allclose(s[..., 0, -1], resize_digits(_digits().astype(np.float32) / 255, 8))
    assert float(jnp.abs(s[..., 1:, :]).sum()) == 0.0 and float(jnp.abs(s[..., :-1]).sum()) == 0.0
    assert m.initial_state(_digits()[0]).shape == (8, 8, 5, 4)
    assert m.init_state().shape == (8, 8, 5, 4) and m.init_state(key=KEY, batch_size=3).shape == (3, 8, 8, 5, 4)
    np.testing.assert_array_equal(m.rollout(s, 3, key=KEY), s)  # zero last layer: a fixed point
    assert m.reconstruction(s).shape == (2, 8, 8)
    img = m.render(s[0])
    assert img.dtype == np.uint8 and img.shape == (8, 8 + 1 + 5 + 1 + 8, 3)
    np.testing.assert_array_equal(img[:, :8, 0], (np.clip(np.asarray(s[0, :, :, 0, -1]), 0, 1) * 255 + 0.5)
                                  .astype(np.uint8))
    # a full-size 28x28 digit is kept as is; the default grid is CAX's
    big = SelfAutoencodingMNIST(key=KEY)
    assert big.grid_shape == (28, 28, 42) and big.num_channels == 16 and big.steps == 96
    np.testing.assert_allclose(big.digits(_digits()), _digits() / np.float32(255))


def test_wall_leaves_only_the_centre_open_and_the_digit_is_clamped():
    m = _noisy_last_layer(SelfAutoencodingMNIST(**TINY, alive_mask=False, key=KEY))
    s = m.initial_state(_digits())
    s = s.at[..., 1:, :].set(jax.random.uniform(KEY, s[..., 1:, :].shape))  # every cell busy
    far, traj = m.rollout(s, 6, key=KEY, trajectory=True)
    after = traj[:, 1]  # (batch, time, ...): after one step
    mid = np.array(after[:, :, :, 5 // 2])
    assert np.abs(mid[:, 4, 4]).sum() > 0  # the hole carries something
    mid[:, 4, 4] = 0.0
    assert not mid.any()  # the rest of the wall is zero, every channel
    assert np.abs(np.asarray(after[..., 5 // 2 + 1 :, :])).sum() > 0
    assert traj.shape == (2, 7, 8, 8, 5, 4)
    for t in range(7):  # the digit re-imposed after every step
        np.testing.assert_array_equal(traj[:, t, ..., 0, -1], s[..., 0, -1])
    assert not np.array_equal(far[..., 0, :-1], s[..., 0, :-1])
    # through_wall on its own, on a 4-D array of ones
    w = np.asarray(through_wall(jnp.ones((5, 5, 4, 2))))
    assert w[:, :, 2].sum() == 2 and w[2, 2, 2].sum() == 2 and w.sum() == 5 * 5 * 4 * 2 - 24 * 2


@pytest.mark.parametrize("side, hole", [(8, 1), (8, 2), (8, 3), (7, 3), (9, 4)])
def test_wall_hole_is_the_centred_block_of_cells(side, hole):
    # restated with numpy: the cells (y, x) of the middle slice with |y - c| and |x - c| in the
    # hole's range around c = side // 2 keep their values, every other wall cell is zeroed
    x = np.asarray(jax.random.uniform(KEY, (side, side, 5, 3))) + 1.0
    w = np.asarray(through_wall(jnp.asarray(x), hole))
    lo = side // 2 - hole // 2
    open_ = np.zeros((side, side), bool)
    open_[lo : lo + hole, lo : lo + hole] = True
    assert open_.sum() == hole * hole and open_[side // 2, side // 2]
    np.testing.assert_array_equal(w[:, :, 2][open_], x[:, :, 2][open_])
    assert not w[:, :, 2][~open_].any()
    np.testing.assert_array_equal(np.delete(w, 2, axis=2), np.delete(x, 2, axis=2))


def test_a_wider_hole_is_saved_loaded_and_rendered(tmp_path):
    m = _noisy_last_layer(SelfAutoencodingMNIST(**TINY, hole=3, alive_mask=False, key=KEY))
    assert m.hole == 3 and m.update.hole == 3 and m.config()["hole"] == 3
    s = m.initial_state(_digits())
    s = s.at[..., 1:, :].set(jax.random.uniform(KEY, s[..., 1:, :].shape))
    after = np.array(m.rollout(s, 1, key=KEY))[:, :, :, 5 // 2]
    assert np.abs(after[:, 3:6, 3:6]).sum() > 0
    after[:, 3:6, 3:6] = 0.0
    assert not after.any()
    img = m.render(s[0])
    wall = img[:, 8 + 1 + 5 // 2]
    assert [tuple(px) != (96, 24, 24) for px in wall] == [False] * 3 + [True] * 3 + [False] * 2
    cax_zoo.save_pretrained(m, tmp_path / "m")
    back = cax_zoo.load_pretrained(tmp_path / "m")
    assert back.hole == 3 and back.update.hole == 3
    with pytest.raises(ConfigError, match="hole"):
        SelfAutoencodingMNIST(**TINY, hole=9, key=KEY)


def test_bad_input_gives_one_line_errors():
    m = SelfAutoencodingMNIST(**TINY, key=KEY)
    for bad, err in ((np.zeros((27, 28), np.uint8), StateError), (np.zeros((2, 28, 28, 3)), StateError),
                     (np.full((28, 28), 2.0), StateError), (np.zeros((28, 28), bool), StateError)):
        with pytest.raises(err) as e:
            m.initial_state(bad)
        assert "\n" not in str(e.value)
    with pytest.raises(StateError, match="8x8x5 grid"):
        m.init_state((10, 10, 5))
    with pytest.raises(StateError, match="expects states of shape"):
        m.check_state(jnp.zeros((8, 8, 6, 4)))
    for field, value in (("depth", 2), ("image_size", 500), ("num_channels", 1), ("fire_rate", 0.0),
                         ("alive_mask", "yes")):
        with pytest.raises(ConfigError, match=field):
            SelfAutoencodingMNIST(**{**TINY, field: value}, key=KEY)
    with pytest.raises(ConfigError, match="key"):
        SelfAutoencodingMNIST(**TINY)
    with pytest.raises(StateError):
        m.render(jnp.zeros((2, 8, 8, 5, 4)))


@pytest.mark.parametrize("field, value", [("lr", float("nan")), ("batch_size", 0), ("rollout_steps", 1),
                                          ("val_limit", 5001), ("clip_norm", -1.0), ("remat", 1)])
def test_recipe_config_errors_name_the_field(field, value):
    cfg = {**recipe.SMOKE, field: value}
    with pytest.raises(ConfigError, match=field) as e:
        recipe.check_config(cfg)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="pool_size"):
        recipe.check_config({**recipe.SMOKE, "batch_size": 8, "pool_size": 4})


def test_gradient_steps_change_the_parameters_and_fill_the_pool():
    cfg = {**recipe.SMOKE, "lr": 1e-2, "remat": True}
    model = recipe.create_model(cfg)
    digits = resize_digits(_digits(3).astype(np.float32) / 255, cfg["image_size"])
    opt = make_optimizer(cfg["lr"], normalize_gradients=False, clip_norm=cfg["clip_norm"])
    opt_state = opt.init(eqx.filter(model, eqx.is_array))
    first = jnp.arange(cfg["pool_size"], dtype=jnp.int32) % 3
    pool = {"state": recipe.fresh_states(model, digits[first]), "digit": first}
    step = recipe.make_train_step(opt, cfg, digits)
    m, o, p, losses = model, opt_state, pool, []
    for _ in range(8):  # the same key: the same batch, so the loss must fall
        m, o, p, loss = step(m, o, p, KEY)
        losses.append(float(loss))
    assert not np.array_equal(m.update.nca.mlp.weights[-1], model.update.nca.mlp.weights[-1])
    assert losses[-1] < losses[0]
    assert p["state"].shape == pool["state"].shape and not np.array_equal(p["state"], pool["state"])
    again = step(model, opt_state, pool, KEY)  # deterministic for a key
    m1 = step(model, opt_state, pool, KEY)[0]
    np.testing.assert_array_equal(again[0].update.nca.mlp.weights[0], m1.update.nca.mlp.weights[0])


def test_evaluate_on_a_few_test_digits(data_dir):
    m = _noisy_last_layer(SelfAutoencodingMNIST(**TINY, key=KEY), 0.05)
    r = evaluate(m, limit=3, batch_size=2)
    assert r["num_images"] == 3 and r["steps"] == 3 and r["image_size"] == 8 and r["classifier_steps"] == 100
    images, _ = load_mnist("test")
    root = jax.random.PRNGKey(EVAL_KEY)
    grey = np.concatenate([images[:3], np.zeros((1, 28, 28), np.uint8)]).astype(np.float32) / 255
    digits = resize_digits(grey, 8)
    errs = [jnp.mean((reconstruct(m, digits[i : i + 2], jax.random.fold_in(root, i // 2), 3) - digits[i : i + 2]) ** 2,
                     axis=(-2, -1)) for i in (0, 2)]
    assert r["mse"] == pytest.approx(float(jnp.concatenate(errs)[:3].mean()), rel=1e-5)
    assert 0 <= r["classifier_accuracy"] <= 1 and 0 <= r["classifier_accuracy_on_originals"] <= 1
    # the ceiling: the classifier on the originals as the model sees them (8x8), upsampled as its output is
    clf = cax_zoo.load("mnist_self_classify")
    labels = load_mnist("test")[1][:3]
    ceiling = [int(clf.classify(upsample(digits[i : i + 2]), key=jax.random.fold_in(jax.random.PRNGKey(EVAL_KEY + 1),
                                                                               i // 2))[j] == labels[i + j])
               for i in (0, 2) for j in range(2) if i + j < 3]
    assert r["classifier_accuracy_on_originals"] == pytest.approx(sum(ceiling) / 3)
    assert evaluate(m, limit=3, batch_size=2) == r  # fixed keys
    with pytest.raises(DataError) as e:
        evaluate(m, limit=3, data=data_dir / "no_such_folder")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="SelfAutoencodingMNIST"):
        evaluate(cax_zoo.load("mnist_self_classify"), limit=1)


def test_smoke_recipe_release_load_eval_and_cli(tmp_path, capsys):
    assert recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "a")]) == 0
    folder = tmp_path / "a" / "self_autoencoding_mnist"
    assert {"README.md", "config.json", "model.safetensors", "preview.gif"} <= {p.name for p in folder.iterdir()}
    m = cax_zoo.load_pretrained(folder)
    assert isinstance(m, SelfAutoencodingMNIST) and m.grid_shape == (6, 6, 4) and m.steps == 4
    saved = json.loads((folder / "config.json").read_text())["metrics"]
    assert set(saved) >= {"val_mse", "val_classifier_accuracy", "final_train_loss", "train_seconds"}
    card = (folder / "README.md").read_text()
    assert "differs from CAX's notebook config" in card and "val_mse" in card
    r = evaluate(m, limit=2)
    assert r["num_images"] == 2 and np.isfinite(r["mse"])
    # cax-zoo eval scores a saved folder with its family's evaluation
    assert cli(["eval", str(folder), "--limit", "2", "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text()) == pytest.approx(r)
    # cax-zoo run with a digit picture of any size, dark on light or light on dark
    images, _ = load_mnist("test")
    Image.fromarray(255 - np.kron(images[0], np.ones((3, 3), np.uint8))).save(tmp_path / "digit.png")
    capsys.readouterr()
    assert cli(["run", str(folder), "--image", str(tmp_path / "digit.png"), "--steps", "4", "--no-progress",
                "--out", str(tmp_path / "rec.gif")]) == 0
    assert "far-face MSE" in capsys.readouterr().out
    with Image.open(tmp_path / "rec.gif") as im:
        assert im.n_frames == 5
    (tmp_path / "garbage.png").write_bytes(b"not a picture")
    for args, message in ((["--image", str(tmp_path / "missing.png")], "is not a file"),
                          (["--image", str(tmp_path / "garbage.png")], "cannot read image"),
                          (["--size", "10"], "6x6x4 grid")):
        assert cli(["run", str(folder), *args, "--out", str(tmp_path / "x.gif")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert cli(["eval", "self_autoencoding_mnist", "--data", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert recipe.main(["--smoke", "--out", str(tmp_path / "b"), "--data", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "no MNIST files" in err and err.count("\n") == 1


@pytest.mark.parametrize("fresh", [0, 3, True, 1.5])
def test_recipe_refuses_a_bad_fresh_count(fresh):
    from recipes import self_autoencoding_mnist as sae_recipe

    with pytest.raises(ConfigError, match="^fresh must be (an integer|>= 1|<= 2)"):
        sae_recipe.check_config({**sae_recipe.SMOKE, "fresh": fresh})  # SMOKE's batch is 2


def test_card_says_when_the_wall_is_wider_than_caxs():
    assert "not CAX's" not in recipe._differences(recipe.FULL)
    text = recipe._differences({**recipe.FULL, "hole": 4})
    assert "central 4x4 cells (16 of the wall's 784, 2.0 %)" in text and "`hole` 4 (CAX: 1)" in text


def test_shipped_model_carries_test_digits_through_its_wall():
    """The release (card, 10,000 test digits: mse 0.0138 against 0.114 for an empty face,
    classifier accuracy 0.892 against 0.946 on the originals) re-measured on the first 200
    test digits."""
    assert "self_autoencoding_mnist" in cax_zoo.list_models(pretrained=True)
    m = cax_zoo.load("self_autoencoding_mnist")
    assert m.grid_shape == (28, 28, 4) and m.hole == 8 and m.fire_rate == 1.0
    r = evaluate(m, limit=200)
    digits = m.digits(load_mnist("test")[0][:200])
    empty = float(jnp.mean(digits ** 2))
    assert r["num_images"] == 200 and r["mse"] < 0.3 * empty
    assert r["classifier_accuracy"] > 0.75 and r["classifier_accuracy_on_originals"] > 0.9
    card = json.loads((cax_zoo.weights_root() / "self_autoencoding_mnist" / "config.json").read_text())
    assert card["metrics"]["num_images"] == 10_000 and card["metrics"]["classifier_accuracy"] >= 0.8
