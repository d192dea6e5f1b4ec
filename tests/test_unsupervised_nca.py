"""The growing unsupervised NCA (CAX): the VAE pieces against their definitions and CAX's
encoder, the latent-conditioned NCA, the MNIST evaluation, the recipe end to end, and
bad input."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

import cax_zoo
from cax_zoo import ConfigError, DataError, StateError, UnsupervisedNCA
from cax_zoo._cli import main as cli
from cax_zoo.mnist import load_mnist
from cax_zoo.nca import ConvEncoder, KernelPerceive, kl_divergence, reparameterize
from cax_zoo.unsupervised_nca import EVAL_KEY, evaluate, mean_training_digit, squared_errors

from recipes import unsupervised_nca as recipe

KEY = jax.random.PRNGKey(0)
TINY = dict(size=8, latent_size=2, num_channels=4, hidden_units=8, encoder_features=(1, 2, 2), steps=3)
TINY28 = {**TINY, "size": 28}


def _noisy_last_layer(model, scale=0.5):
    """``model`` with a random (non-zero) output layer, so a step changes the cells."""
    w = model.update.nca.mlp.weights[-1]
    return eqx.tree_at(lambda m: m.update.nca.mlp.weights[-1], model,
                       scale * jax.random.normal(jax.random.PRNGKey(7), w.shape))


def _blobs(n, side=8):
    """``n`` different grey 'digits' ``(n, side, side)`` in [0, 1]."""
    x = np.zeros((n, side, side), np.float32)
    for i in range(n):
        x[i, 1 + i % 3 : side - 1, 2 : 3 + i % (side - 3)] = 1.0 - 0.2 * (i % 4)
    return x


# ---------------------------------------------------------------- the VAE pieces


def test_kl_divergence_is_its_definition():
    assert float(kl_divergence(jnp.zeros(8), jnp.zeros(8))) == 0.0  # the prior itself
    rng = np.random.default_rng(0)
    mean, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    # KL(N(m, s^2) || N(0, 1)) = sum over dims of (s^2 + m^2 - 1 - log s^2) / 2
    expect = np.sum(np.exp(logvar) + mean**2 - 1.0 - logvar, axis=-1) / 2
    np.testing.assert_allclose(kl_divergence(mean, logvar), expect, rtol=1e-5)
    np.testing.assert_allclose(kl_divergence(jnp.ones(4), jnp.zeros(4)), 2.0)  # 4 x 1/2
    assert np.all(np.asarray(kl_divergence(mean, logvar)) > 0)


def test_reparameterize_has_the_posterior_mean_and_std():
    mean, logvar = jnp.array([1.5, -2.0]), jnp.log(jnp.array([0.25, 4.0]))
    z = reparameterize(jnp.broadcast_to(mean, (20000, 2)), jnp.broadcast_to(logvar, (20000, 2)), KEY)
    np.testing.assert_allclose(z.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)
    np.testing.assert_array_equal(reparameterize(mean, jnp.full(2, -jnp.inf), KEY), mean)
    g = jax.grad(lambda m: reparameterize(m, logvar, KEY).sum())(mean)  # differentiable in the mean
    np.testing.assert_allclose(g, 1.0)


def _numpy_cax_encoder(enc: ConvEncoder, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CAX's ``nn/vae.py`` Encoder restated in float64 numpy: 3x3 convolutions with stride 2
    and SAME padding (Flax's: out = ceil(in / 2), the extra padding row/column after), ReLU,
    flattened row-major, a dense ReLU layer, then the mean and log-variance heads. It agrees
    with CAX's own Encoder (given the same weights) to 1e-7 at 8x8; CAX sizes its dense layer
    as if every side halved exactly, so it only runs on sides divisible by 2^convolutions,
    where the sizes agree; odd sides here follow the convolution's actual output."""
    h = np.asarray(x, np.float64)
    for w, b in zip(enc.conv_weights, enc.conv_biases):
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        n, rows, cols, _ = h.shape
        out_r, out_c = -(-rows // 2), -(-cols // 2)
        pad_r, pad_c = max((out_r - 1) * 2 + 3 - rows, 0), max((out_c - 1) * 2 + 3 - cols, 0)
        p = np.pad(h, ((0, 0), (pad_r // 2, pad_r - pad_r // 2), (pad_c // 2, pad_c - pad_c // 2), (0, 0)))
        y = np.zeros((n, out_r, out_c, w.shape[-1]))
        for r in range(out_r):
            for c in range(out_c):
                y[:, r, c] = np.einsum("nijk,ijko->no", p[:, 2 * r : 2 * r + 3, 2 * c : 2 * c + 3], w)
        h = np.maximum(y + b, 0.0)
    h = h.reshape(len(h), -1)
    dense = lambda layer, v: v @ np.asarray(layer[0], np.float64).T + np.asarray(layer[1], np.float64)  # noqa: E731
    h = np.maximum(dense(enc.hidden, h), 0.0)
    return dense(enc.mean_head, h), dense(enc.logvar_head, h)


@pytest.mark.parametrize("shape", [(8, 8), (7, 9)])
def test_encoder_is_caxs_encoder(shape):
    ours = ConvEncoder(shape, (1, 3, 4), 2, key=KEY)
    ours = eqx.tree_at(lambda e: e.conv_biases, ours, tuple(b + 0.1 for b in ours.conv_biases))  # biases in play
    x = np.asarray(jax.random.uniform(KEY, (3, *shape, 1)))
    for a, b in zip(ours(x), _numpy_cax_encoder(ours, x)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert ours(x[0])[0].shape == (2,)  # unbatched


def test_encoder_sizes_match_caxs_mnist_encoder():
    cax_shape = eqx.filter_eval_shape(ConvEncoder, (28, 28), (1, 32, 32), 8, key=KEY)
    assert cax_shape.flat_size == 7 * 7 * 32 and cax_shape.hidden[0].shape == (1568, 1568)
    assert ConvEncoder((7, 9), (1, 2), 3, key=KEY).flat_size == 4 * 5 * 2  # odd sides round up, as SAME does


# ---------------------------------------------------------------- the model


def test_seed_shapes_render_and_fresh_model_keeps_the_seed():
    m = UnsupervisedNCA(**TINY, key=KEY)
    assert isinstance(m.perceive, KernelPerceive) and m.perceive.num_features == 3 * 4
    s = m.init_state()
    assert s.shape == (8, 8, 4) and float(s[4, 4, -1]) == 1.0 and float(jnp.abs(s).sum()) == 1.0
    assert m.init_state(batch_size=3).shape == (3, 8, 8, 4)
    mean, logvar = m.encode(_blobs(5))
    assert mean.shape == logvar.shape == (5, 2) and m.encode(_blobs(1)[0])[0].shape == (2,)
    np.testing.assert_allclose(m.encode((_blobs(2) * 255).astype(np.uint8))[0], m.encode(_blobs(2))[0], atol=1e-6)
    np.testing.assert_array_equal(m.grow(mean, key=KEY), m.init_state(batch_size=5))  # zero last layer
    assert m.decode(mean, key=KEY).shape == (5, 8, 8) and m.sample(KEY, 5).shape == (5, 8, 8)
    img = m.render(s)
    assert img.dtype == np.uint8 and img.shape == (8, 8, 3) and img[4, 4, 0] == 255 and img.sum() == 3 * 255
    big = eqx.filter_eval_shape(UnsupervisedNCA, key=KEY)  # CAX's notebook (shapes only)
    assert (big.size, big.latent_size, big.num_channels, big.hidden_units, big.steps) == (28, 8, 32, 256, 64)
    assert big.update.nca.mlp.weights[0].shape == (256, 3 * 32 + 8) and big.encoder.features == (1, 32, 32)


def test_the_latent_conditions_the_growth():
    m = _noisy_last_layer(UnsupervisedNCA(**TINY, key=KEY))
    seeds = m.init_state(batch_size=2)
    z = jnp.array([[2.0, -1.0], [-2.0, 1.0]])
    out = m.rollout(seeds, 4, input=z, key=KEY)
    assert float(jnp.abs(out[0] - out[1]).max()) > 1e-3  # same seed, same keys, different latents
    same = m.rollout(seeds, 4, input=jnp.stack([z[0], z[0]]), key=KEY)
    np.testing.assert_array_equal(same[0], out[0])
    # no input is the latent 0 (the prior's mean), as the step sees it
    np.testing.assert_array_equal(m.rollout(seeds[0], 3, key=KEY), m.rollout(seeds[0], 3, input=jnp.zeros(2), key=KEY))
    # grow/decode are the core's rollout with the latent as input
    np.testing.assert_array_equal(m.grow(z, key=KEY, steps=4), out)


def test_a_gradient_step_lowers_the_loss_on_a_fixed_batch():
    m = _noisy_last_layer(UnsupervisedNCA(**TINY, key=KEY), 0.05)
    digits = jnp.asarray(_blobs(4))
    opt = optax.adam(1e-2)

    def loss_fn(model):
        mean, logvar = model.encode(digits)
        z = reparameterize(mean, logvar, KEY)
        grown = model.rollout(model.init_state(batch_size=4), 3, input=z, key=KEY)
        return jnp.mean((grown[..., -1] - digits) ** 2) + 1e-3 * jnp.mean(kl_divergence(mean, logvar))

    @eqx.filter_jit
    def step(model, state):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, loss

    state = opt.init(eqx.filter(m, eqx.is_array))
    losses = []
    for _ in range(6):
        m, state, loss = step(m, state)
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_a_fresh_model_overfits_a_fixed_batch_through_its_latent():
    # The training path from CAX's init (zero output layer, so the encoder's gradient is 0
    # at the first step and only flows once the MLP reads the latent): a small model must
    # learn 4 images well below the mean image, and must do it through the latent (the
    # images grown from the other images' latents are far worse). A cut gradient path to
    # the encoder, an ignored latent or a wrong image channel fails this.
    m = UnsupervisedNCA(size=8, latent_size=2, num_channels=8, hidden_units=32, encoder_features=(1, 4, 4),
                        steps=6, fire_rate=1.0, key=KEY)
    digits = jnp.asarray(_blobs(4))
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))

    def recon(model, order):
        mean, _ = model.encode(digits)
        return jnp.mean((model.decode(mean[order]) - digits) ** 2)

    @eqx.filter_jit
    def step(model, state):
        loss, grads = eqx.filter_value_and_grad(recon)(model, jnp.arange(4))
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, optax.global_norm(grads.encoder)

    state = opt.init(eqx.filter(m, eqx.is_array))
    encoder_grads = []
    for _ in range(80):
        m, state, g = step(m, state)
        encoder_grads.append(float(g))
    mean_image = float(jnp.mean((digits - digits.mean(axis=0)) ** 2))
    trained, shuffled = float(recon(m, jnp.arange(4))), float(recon(m, jnp.array([1, 2, 3, 0])))
    assert encoder_grads[0] == 0.0 and min(encoder_grads[1:]) > 0.0
    assert trained < 0.5 * mean_image, (trained, mean_image)
    assert shuffled > 3 * trained, (shuffled, trained)


def test_recipe_train_step_is_deterministic_and_fills_the_pool():
    cfg = {**recipe.SMOKE, "pool_size": 3, "batch_size": 2, "rollout_steps": 4}
    m = _noisy_last_layer(UnsupervisedNCA(**TINY, key=KEY), 0.05)
    opt = optax.adam(1e-3)
    o = opt.init(eqx.filter(m, eqx.is_array))
    pool = {"state": m.init_state(batch_size=3), "digit": jnp.array([0, 1, 2], jnp.int32)}
    step = recipe.make_train_step(opt, cfg, jnp.asarray(_blobs(5)))
    m1, _, p1, loss = step(m, o, pool, KEY)
    assert np.isfinite(float(loss)) and not np.array_equal(p1["state"], pool["state"])
    assert not np.array_equal(m1.encoder.hidden[0], m.encoder.hidden[0])  # the encoder learns too
    again = step(m, o, pool, KEY)
    np.testing.assert_array_equal(again[2]["state"], p1["state"])
    np.testing.assert_array_equal(again[0].update.nca.mlp.weights[0], m1.update.nca.mlp.weights[0])


# ---------------------------------------------------------------- evaluation, recipe, CLI


def test_evaluate_on_a_few_test_digits(data_dir):
    m = _noisy_last_layer(UnsupervisedNCA(**TINY28, key=KEY), 0.05)
    r = evaluate(m, num_images=3, batch_size=2)
    assert r["num_images"] == 3 and r["steps"] == 3
    images, _ = load_mnist("test")
    grey = np.concatenate([images[:3], np.zeros((1, 28, 28), np.uint8)]).astype(np.float32) / 255
    root = jax.random.PRNGKey(EVAL_KEY)
    errs = jnp.concatenate([squared_errors(m, grey[i : i + 2], jax.random.fold_in(root, i // 2), 3) for i in (0, 2)])
    assert r["mse"] == pytest.approx(float(errs[:3].mean()), rel=1e-5)
    train, _ = load_mnist("train")
    mean_digit = train[:55000].astype(np.float64).mean(0) / 255
    np.testing.assert_allclose(mean_training_digit(), mean_digit, atol=1e-6)
    assert r["baseline_mse"] == pytest.approx(float(np.mean((grey[:3] - mean_digit) ** 2)), rel=1e-5)
    assert evaluate(m, limit=3, batch_size=2) == r  # fixed keys; --limit is num_images
    with pytest.raises(DataError) as e:
        evaluate(m, num_images=3, data=data_dir / "no_such_folder")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="UnsupervisedNCA"):
        evaluate(cax_zoo.load("mnist_self_classify"), num_images=1)
    with pytest.raises(ConfigError, match="size 28"):
        evaluate(UnsupervisedNCA(**TINY, key=KEY), num_images=1)
    with pytest.raises(ConfigError, match="disagree"):
        evaluate(m, num_images=2, limit=3)


def test_bad_input_gives_one_line_errors():
    m = UnsupervisedNCA(**TINY, key=KEY)
    cases = [
        (StateError, lambda: m.encode(np.zeros((2, 7, 8), np.float32)), "shape (*batch, 8, 8)"),
        (StateError, lambda: m.encode(np.full((8, 8), 2.0, np.float32)), "[0, 1]"),
        (StateError, lambda: m.encode(np.zeros((8, 8), bool)), "dtype bool"),
        (StateError, lambda: m.rollout(m.init_state(), 2, input=jnp.zeros(3)), "latent of size 2"),
        (StateError, lambda: m.grow(jnp.zeros((2, 2, 2))), "latents must have shape"),
        (ConfigError, lambda: UnsupervisedNCA(**{**TINY, "encoder_features": (3, 4)}, key=KEY), "start with 1"),
        (ConfigError, lambda: UnsupervisedNCA(**{**TINY, "encoder_features": (1,)}, key=KEY), "start with 1"),
        (ConfigError, lambda: UnsupervisedNCA(**{**TINY, "size": 10**6}, key=KEY), "size"),
        (ConfigError, lambda: UnsupervisedNCA(**TINY), "key is required"),
        (ConfigError, lambda: ConvEncoder((512, 512), (1, 512), 8, key=KEY), "flattened feature map"),
        (ConfigError, lambda: m.cli_setup(image=np.zeros((30, 30), np.uint8)), "8x8 digit images"),
        (ConfigError, lambda: m.sample(KEY, 0), "num"),
    ]
    for error, call, message in cases:
        with pytest.raises(error) as e:
            call()
        assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("field,value", [("kl_weight", "-1"), ("rollout_steps", "1"), ("batch_size", "2000"),
                                         ("val_limit", "6000"), ("lr_boundaries", "[1,2]")])
def test_recipe_config_errors_name_the_field(field, value, tmp_path):
    with pytest.raises(ConfigError, match=field):
        recipe.check_config(recipe.parse_recipe_args(["--config", f"{field}={value}", "--out", str(tmp_path)],
                                                     name=recipe.NAME, description="", full=recipe.FULL,
                                                     smoke=recipe.SMOKE).config)


def test_smoke_recipe_release_load_eval_and_cli(tmp_path, capsys):
    assert recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "a")]) == 0
    folder = tmp_path / "a" / "unsupervised_nca" / "mnist"
    assert {"README.md", "config.json", "model.safetensors", "preview.gif"} <= {p.name for p in folder.iterdir()}
    m = cax_zoo.load_pretrained(folder)
    assert isinstance(m, UnsupervisedNCA) and (m.latent_size, m.num_channels, m.steps) == (2, 4, 4)
    saved = json.loads((folder / "config.json").read_text())["metrics"]
    assert set(saved) >= {"val_mse", "val_baseline_mse", "final_train_loss", "train_seconds"}
    assert 0.02 < saved["val_baseline_mse"] < 0.2
    card = (folder / "README.md").read_text()
    assert "differs from CAX's notebook config" in card and "val_mse" in card
    r = evaluate(m, num_images=4)  # the validation's batch shape: compiled already
    assert r["num_images"] == 4 and np.isfinite(r["mse"]) and r["steps"] == 4
    # cax-zoo run with a 28x28 digit picture (dark on light is inverted)
    images, _ = load_mnist("test")
    Image.fromarray(255 - images[0]).save(tmp_path / "digit.png")
    Image.fromarray(np.kron(images[0], np.ones((2, 2), np.uint8))).save(tmp_path / "big.png")
    capsys.readouterr()
    assert cli(["run", str(folder), "--image", str(tmp_path / "digit.png"), "--steps", "4", "--every", "2",
                "--no-progress", "--out", str(tmp_path / "grown.gif")]) == 0
    with Image.open(tmp_path / "grown.gif") as im:
        assert im.n_frames == 3
    state, z = m.cli_setup(image=np.asarray(Image.open(tmp_path / "digit.png")))
    np.testing.assert_allclose(z, m.encode(images[0])[0], atol=1e-6)
    capsys.readouterr()
    for args, message in ((["--image", str(tmp_path / "big.png")], "28x28 digit images"),
                          (["--image", str(tmp_path / "missing.png")], "is not a file")):
        assert cli(["run", str(folder), *args, "--out", str(tmp_path / "x.gif")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert cli(["eval", "unsupervised_nca/mnist", "--data", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("fresh", [0, 3, True, 1.5])
def test_recipe_refuses_a_bad_fresh_count(fresh):
    cfg = {**recipe.SMOKE, "fresh": fresh}  # SMOKE's batch is 2
    with pytest.raises(ConfigError, match="^fresh must be (an integer|>= 1|<= 2)"):
        recipe.check_config(cfg)


def test_shipped_model_grows_test_digits_better_than_half_the_mean_digit():
    """The release (card: mse 0.0301 against 0.0675 for the mean digit on the 10,000 test
    digits) re-measured on the first 500 test digits; with cells always firing it is
    deterministic, so another evaluation seed gives the same figure."""
    assert "unsupervised_nca/mnist" in cax_zoo.list_models(pretrained=True)
    m = cax_zoo.load("unsupervised_nca/mnist")
    r = evaluate(m, num_images=500)
    assert r["num_images"] == 500 and r["steps"] == m.steps == 24
    assert r["mse"] < 0.5 * r["baseline_mse"] and 0.05 < r["baseline_mse"] < 0.09
    assert evaluate(m, num_images=500, seed=1)["mse"] == pytest.approx(r["mse"], abs=1e-7)
    card = json.loads((cax_zoo.weights_root() / "unsupervised_nca" / "mnist" / "config.json").read_text())
    assert card["metrics"]["num_images"] == 10_000 and card["metrics"]["mse"] < 0.5 * card["metrics"]["baseline_mse"]
