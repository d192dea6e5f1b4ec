"""The self-classifying MNIST model's residual noise and its recipe's loss options,
validation split and notebook configuration (Randazzo et al. 2020's mnist_ca.ipynb)."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cax_zoo
from cax_zoo import ConfigError, SelfClassifyingMNIST
from cax_zoo.mnist import live_cell_batch, sparse_rollout, sparse_step
from cax_zoo.nca import stochastic_update
from recipes import mnist_self_classify as recipe


@pytest.fixture(scope="module")
def digits(data_dir):
    from cax_zoo.mnist import load_mnist

    x, y = load_mnist("test")
    return x[:64], y[:64]


def _tiny(residual_noise=0.0, fire_rate=0.5, perturb=True, hidden_units=8):
    m = SelfClassifyingMNIST(hidden_channels=2, hidden_units=hidden_units, fire_rate=fire_rate,
                             residual_noise=residual_noise, key=jax.random.PRNGKey(1))
    if not perturb:
        return m
    w = m.update.mlp.weights[-1]
    return eqx.tree_at(lambda m: m.update.mlp.weights[-1], m, 0.2 * jax.random.normal(jax.random.PRNGKey(2), w.shape))


def _restated_step(model, state, key):
    """One keyed step restated in numpy from the definition: the MLP's update ``delta``,
    plus (noise > 0: from the second half of ``split(key)``) N(0, sigma) noise, times the
    fire mask (Bernoulli from ``key``, or with noise from the first half of its split) and
    the living mask (grey > threshold; the grey channel never changes), added to the
    mutable channels."""
    s = np.asarray(state)
    delta = np.asarray(model.update.mlp(model.perceive(state)))
    sigma = model.residual_noise
    k_fire = key
    if sigma > 0:
        k_fire, k_noise = jax.random.split(key)
        delta = delta + sigma * np.asarray(jax.random.normal(k_noise, delta.shape))
    fire = np.asarray(jax.random.bernoulli(k_fire, model.fire_rate, s.shape[:-1] + (1,)))
    alive = s[..., :1] > model.alive_threshold
    out = s.copy()
    out[..., 1:] = s[..., 1:] + delta * fire * alive
    return out


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_keyed_step_matches_numpy_restatement(digits, noise):
    x, _ = digits
    m = _tiny(noise)
    state = m.initial_state(x[0])
    hidden = 0.3 * jax.random.normal(jax.random.PRNGKey(5), state.shape[:-1] + (m.num_channels - 1,))
    state = state.at[..., 1:].set(hidden * (state[..., :1] > m.alive_threshold))  # dead cells zero
    key = jax.random.PRNGKey(11)
    got = np.asarray(m.step(state, key=key))
    want = _restated_step(m, state, key)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    dead = np.asarray(state[..., 0]) <= m.alive_threshold
    assert np.all(got[dead][:, 1:] == 0)  # noise never reaches dead cells
    # without a key no cell is random: every cell fires and no noise is added
    np.testing.assert_array_equal(np.asarray(m.step(state)), np.asarray(_tiny(0.0).step(state)))


def test_noise_zero_is_the_old_update_exactly():
    state = jax.random.normal(jax.random.PRNGKey(0), (6, 5, 4))
    delta = jax.random.normal(jax.random.PRNGKey(1), (6, 5, 4))
    key = jax.random.PRNGKey(2)
    old = state + delta * jax.random.bernoulli(key, 0.5, (6, 5, 1)).astype(delta.dtype)
    np.testing.assert_array_equal(stochastic_update(state, delta, 0.5, key), old)
    np.testing.assert_array_equal(stochastic_update(state, delta, 0.5, key, residual_noise=0.0), old)
    np.testing.assert_array_equal(stochastic_update(state, delta, 1.0, key, residual_noise=0.0), state + delta)
    np.testing.assert_array_equal(stochastic_update(state, delta, 0.5, None, residual_noise=0.3), state + delta)
    noisy = stochastic_update(state, delta, 1.0, key, residual_noise=0.3)  # fire rate 1: every cell, noised
    np.testing.assert_allclose(noisy, state + delta + 0.3 * jax.random.normal(jax.random.split(key)[1], (6, 5, 4)),
                               atol=1e-6)


def test_weights_saved_before_the_noise_field_load_without_noise_and_step_as_before(tmp_path):
    """The shipped release records its noise (0.02, the article's); a folder saved before
    the field existed (its config.json without it) loads as 0.0 and steps by the old rule."""
    import shutil

    shipped = cax_zoo.weights_root() / "mnist_self_classify"
    assert cax_zoo.load("mnist_self_classify").update.residual_noise == 0.02
    folder = tmp_path / "before_the_field"
    shutil.copytree(shipped, folder)
    stored = json.loads((folder / "config.json").read_text())
    del stored["config"]["residual_noise"]
    (folder / "config.json").write_text(json.dumps(stored))
    model = cax_zoo.load(str(folder))
    assert model.config()["residual_noise"] == 0.0 and model.update.residual_noise == 0.0
    state = model.init_state()
    for t in range(3):  # the pre-noise rule, bit for bit: fire = bernoulli(key) itself
        key = jax.random.PRNGKey(t)
        nxt = model.step(state, key=key)
        s = np.asarray(state)
        delta = np.asarray(model.update.mlp(model.perceive(state)))
        fire = np.asarray(jax.random.bernoulli(key, 0.5, (28, 28, 1)))
        old = s[..., 1:] + delta * fire.astype(np.float32) * (s[..., :1] > 0.1)
        np.testing.assert_array_equal(np.asarray(nxt)[..., 1:], old.astype(np.float32))
        state = nxt


def test_dense_and_list_steps_are_the_same_noisy_rule(digits):
    """With a key, the dense step draws its fire mask and noise on the 28x28 grid, the list
    step on the live-cell list: the same rule, different draws. A zero update (a fresh
    model) leaves only the noise: on live cells, half fire with N(0, sigma) per channel;
    dead cells stay zero."""
    x, _ = digits
    sigma = 0.1
    m = _tiny(sigma, perturb=False)
    imgs = x[:8]
    dense = np.asarray(eqx.filter_jit(jax.vmap(lambda s, k: m.step(s, key=k)))(
        m.initial_state(imgs), jax.random.split(jax.random.PRNGKey(3), 8)))
    live = imgs.astype(np.float32) / 255.0 > m.alive_threshold
    assert np.all(dense[~live][:, 1:] == 0)
    d = dense[live][:, 1:]
    nbr, ng, valid = live_cell_batch(imgs, m.alive_threshold, 320)
    hidden = jnp.zeros((8, 320, m.num_channels - 1))
    sparse = np.asarray(eqx.filter_jit(jax.vmap(lambda h, a, b, c, k: sparse_step(m, h, a, b, c, k)))(
        hidden, jnp.asarray(nbr), jnp.asarray(ng), jnp.asarray(valid), jax.random.split(jax.random.PRNGKey(4), 8)))
    assert np.all(sparse[~valid] == 0)
    s = sparse[valid]
    assert len(s) == len(d) == live.sum()
    for v in (d, s):
        fired = np.any(v != 0, axis=-1)
        assert abs(fired.mean() - 0.5) < 0.05  # each live cell fires with probability 0.5
        assert np.all(v[fired] != 0)  # a firing cell's noise is on every channel
        assert abs(v[fired].std() / sigma - 1) < 0.05 and abs(v[fired].mean()) < 0.01
    assert abs(np.any(d != 0, -1).mean() - np.any(s != 0, -1).mean()) < 0.06
    # without a key a noisy model is deterministic (every cell fires, no noise): the two
    # paths then give the same live cells
    p = _tiny(sigma, fire_rate=1.0)
    state = eqx.filter_jit(jax.vmap(lambda s: p.step(s)))(p.initial_state(imgs))
    listed = eqx.filter_jit(jax.vmap(lambda a, b, c: sparse_step(p, jnp.zeros((320, p.num_channels - 1)), a, b, c,
                                                                 None)))(jnp.asarray(nbr), jnp.asarray(ng),
                                                                         jnp.asarray(valid))
    np.testing.assert_allclose(np.asarray(listed)[valid], np.asarray(state)[live][:, 1:], atol=1e-5)
    assert np.abs(np.asarray(listed)[valid]).max() > 0.01


def test_packed_evaluation_fires_as_the_list_rollout_and_adds_the_noise(digits):
    """The evaluation's fire masks for a noisy model are exactly those of the list step
    (its key split into fire and noise keys), and its packed rollout adds the noise."""
    from cax_zoo._families._mnist_self_classify._packed import batch_fire_masks, pack_digits, packed_rollout

    x, y = digits
    m = _tiny(0.1, perturb=False)
    imgs = x[:3]
    nbr, ng, valid = live_cell_batch(imgs, m.alive_threshold, 320)
    key = jax.random.PRNGKey(9)
    masks = np.asarray(batch_fire_masks(key, num_steps=2, batch_size=3, length=320, fire_rate=0.5, noisy=True))
    for t, kt in enumerate(jax.random.split(key, 2)):
        for i, kk in enumerate(jax.random.split(kt, 3)):  # sparse_rollout's keys: per step, per digit
            h = np.asarray(sparse_step(m, jnp.zeros((320, m.num_channels - 1)), jnp.asarray(nbr[i]),
                                       jnp.asarray(ng[i]), jnp.asarray(valid[i]), kk))
            np.testing.assert_array_equal(np.any(h != 0, -1), masks[t, i] & valid[i])
    assert not np.array_equal(masks, np.asarray(batch_fire_masks(key, num_steps=2, batch_size=3, length=320,
                                                                 fire_rate=0.5)))
    # digits labelled 0 under a zero update: without noise every cell votes 0 (argmax of
    # zeros); with noise, after every cell fired, the votes are uniform over the 10 classes
    zeros = x[y == 0][:6]
    chunk = next(pack_digits(zeros, m.alive_threshold, 2048, 64))
    fire = jnp.asarray(np.broadcast_to(chunk.digit < chunk.count, (3, len(chunk.digit))))
    args = (jnp.asarray(chunk.nbr), jnp.asarray(chunk.nbr_grey), jnp.asarray(chunk.digit), fire, 64, 2048)
    counts = np.asarray(packed_rollout(m, *args, jax.random.PRNGKey(0)))[-1]
    quiet = np.asarray(packed_rollout(_tiny(0.0, perturb=False), *args))[-1]
    assert quiet[:, 1:].sum() == 0 and quiet[:, 0].sum() == (chunk.digit < chunk.count).sum()
    frac = counts.sum(0) / counts.sum()
    assert np.all(np.abs(frac - 0.1) < 0.04)
    ones = _tiny(0.1, fire_rate=1.0, perturb=False)  # the list rollout, same rule
    nb, g, va = live_cell_batch(zeros, m.alive_threshold, 320)
    c, _ = sparse_rollout(ones, jnp.asarray(nb), jnp.asarray(g), jnp.asarray(va), jnp.zeros(6, jnp.int32),
                          jax.random.PRNGKey(1), 3)
    frac_list = np.asarray(c[-1]).sum(0) / np.asarray(c[-1]).sum()
    assert np.all(np.abs(frac_list - 0.1) < 0.04)
    with pytest.raises(ConfigError, match="noise_key"):
        packed_rollout(m, *args)


def test_evaluate_a_noisy_model_reproducibly_and_on_held_out_training_digits(digits):
    from cax_zoo.mnist import evaluate, load_mnist

    m = _tiny(0.05)
    a = evaluate(m, limit=12, steps=4, report_steps=(2,), seed=3)
    assert a == evaluate(m, limit=12, steps=4, report_steps=(2,), seed=3)
    train_x, _ = load_mnist("train")
    v = evaluate(m, split="train", start=60000 - 12, steps=4, report_steps=(2,), seed=3)
    assert v["num_images"] == 12
    # the same figures as evaluating exactly those digits: their labels count, not others'
    w = evaluate(m, split="train", start=60000 - 12, limit=12, steps=4, report_steps=(2,), seed=3)
    assert v == w and train_x.shape[0] == 60000
    for bad in (-1, 60000, 1.5, True):
        with pytest.raises(ConfigError, match="start"):
            evaluate(m, split="train", start=bad)


def test_loss_options_match_numpy():
    m = _tiny()
    rng = np.random.default_rng(0)
    states = rng.normal(size=(3, 28, 28, m.num_channels)).astype(np.float32)
    states[..., 0] = rng.uniform(size=(3, 28, 28)) * (rng.uniform(size=(3, 28, 28)) < 0.3)
    labels = np.array([3, 0, 9])
    logits = states[..., -10:]
    alive = states[..., 0] > m.alive_threshold
    onehot = np.eye(10)[labels][:, None, None, :]
    l2 = ((logits - onehot) ** 2).sum(-1)
    z = logits - logits.max(-1, keepdims=True)
    ce = -(z - np.log(np.exp(z).sum(-1, keepdims=True)))[np.arange(3)[:, None, None], np.arange(28)[:, None],
                                                          np.arange(28), labels[:, None, None]]
    for kind, cell in (("l2", l2), ("ce", ce)):
        want = (cell * alive).sum((1, 2)) / alive.sum((1, 2))
        got = recipe.per_sample_loss(m, jnp.asarray(states), jnp.asarray(labels), kind)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    np.testing.assert_array_equal(recipe.per_sample_loss(m, jnp.asarray(states), jnp.asarray(labels)),
                                  recipe.per_sample_loss(m, jnp.asarray(states), jnp.asarray(labels), "l2"))


@pytest.mark.parametrize("max_live, loss, loss_at", [(0, "l2", "every"), (0, "ce", "last"),
                                                     (224, "l2", "last"), (224, "ce", "every")])
def test_train_step_loss_is_the_configured_one(digits, max_live, loss, loss_at):
    """The train step's loss (of the model before its update) against a numpy rollout
    restated step by step (every cell firing, no noise: a deterministic rule)."""
    from cax_zoo.training import make_optimizer

    x, y = digits
    cfg = {**recipe.SMOKE, "batch_size": 2, "pool_size": 2, "reseed": 0, "mutate": 0, "rollout_steps": 3,
           "max_live": max_live, "loss": loss, "loss_at": loss_at, "residual_noise": 0.0}
    m = _tiny(0.0, fire_rate=1.0)
    images, labels = jnp.asarray(x[:2]), jnp.asarray(y[:2].astype(np.int32))
    pool = recipe.fresh_states(m, images, labels, jnp.arange(2))
    opt = make_optimizer(1e-3)
    step = recipe.make_train_step(opt, cfg)
    _, _, _, got = step(m, opt.init(eqx.filter(m, eqx.is_array)), pool, images, labels, jax.random.PRNGKey(0))
    state, per_step = m.initial_state(x[:2]), []
    for _ in range(3):
        state = jax.vmap(m.step)(state)
        s = np.asarray(state)
        alive = s[..., 0] > m.alive_threshold
        lg = s[..., -10:].astype(np.float64)
        if loss == "l2":
            cell = ((lg - np.eye(10)[y[:2]][:, None, None]) ** 2).sum(-1)
        else:
            lse = np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1)) + lg.max(-1)
            cell = lse - np.take_along_axis(lg, y[:2, None, None, None].astype(int).repeat(28, 1).repeat(28, 2),
                                            -1)[..., 0]
        per_step.append(((cell * alive).sum((1, 2)) / alive.sum((1, 2))).mean())
    want = np.mean(per_step) if loss_at == "every" else per_step[-1]
    np.testing.assert_allclose(float(got), want, rtol=2e-5)


def test_full_is_the_notebook_configuration():
    from cax_zoo.training import make_schedule

    f = recipe.FULL
    assert (f["steps"], f["batch_size"], f["pool_size"], f["rollout_steps"], f["reseed"], f["mutate"]) == \
        (100000, 16, 160, 20, 4, 4)
    assert (f["loss"], f["loss_at"], f["residual_noise"], f["val_size"], f["max_live"]) == \
        ("l2", "last", 0.02, 5000, 256)
    assert f["hidden_channels"] + 10 == 19 and f["hidden_units"] == 80 and f["normalize_gradients"]
    sched = make_schedule(f["lr"], schedule=f["lr_schedule"], steps=f["steps"], boundaries=f["lr_boundaries"],
                          decay=f["lr_decay"])
    lrs = [float(sched(s)) for s in (0, 29999, 30000, 69999, 70000, 99999)]
    np.testing.assert_allclose(lrs, [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5], rtol=1e-6)
    recipe.check_config(dict(f))
    recipe.check_config(dict(recipe.SMOKE))
    # the shipped release's behaviour stays reachable by overrides
    recipe.check_config({**f, "loss_at": "every", "residual_noise": 0.0, "pool_size": 1024, "lr_schedule": "cosine",
                         "lr_decay": 0.05, "lr_boundaries": [], "val_size": 0})
    assert "loss_at=every" in recipe.__doc__ and "residual_noise=0" in recipe.__doc__


@pytest.mark.parametrize("field, value", [("loss", "mse"), ("loss", 2), ("loss_at", "first"),
                                          ("residual_noise", -0.1), ("residual_noise", 2.0),
                                          ("residual_noise", "0.02"), ("residual_noise", True),
                                          ("val_size", -1), ("val_size", 40000), ("val_size", 1.5)])
def test_new_recipe_fields_are_checked(field, value):
    with pytest.raises(ConfigError, match=field) as e:
        recipe.check_config({**recipe.SMOKE, field: value})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("value", [-0.01, 1.5, "0.1", True, float("nan")])
def test_model_residual_noise_is_checked(value):
    with pytest.raises(ConfigError, match="residual_noise") as e:
        SelfClassifyingMNIST(residual_noise=value, key=jax.random.PRNGKey(0))
    assert "\n" not in str(e.value)


def test_hold_out_keeps_the_last_digits_out_of_training():
    images = np.arange(100 * 4, dtype=np.uint8).reshape(100, 2, 2)
    labels = np.arange(100) % 10
    tr_x, tr_y, start = recipe.hold_out(images, labels, 30)
    assert start == 70 and len(tr_x) == len(tr_y) == 70
    np.testing.assert_array_equal(tr_x, images[:70])
    tr_x, _, start = recipe.hold_out(images, labels, 0)
    assert start == 100 and len(tr_x) == 100
    with pytest.raises(ConfigError, match="val_size"):
        recipe.hold_out(images, labels, 100)


def test_smoke_run_records_validation_metrics_and_the_split_note(tmp_path, data_dir):
    assert recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path), "--config", "val_size=12",
                        "--config", "loss=ce"]) == 0
    folder = tmp_path / "mnist_self_classify"
    config = json.loads((folder / "config.json").read_text())
    metrics = config["metrics"]
    assert metrics["val_num_images"] == 12 and metrics["num_images"] == recipe.SMOKE["eval_limit"]
    for k in ("val_accuracy", "val_pixel_accuracy", "val_agreement"):
        assert 0 <= metrics[k] <= 1
        assert set(metrics[k + "_by_step"]) == {str(recipe.SMOKE["default_steps"]), "200"}
    assert "chosen on the validation split" in (folder / "README.md").read_text()
    model = cax_zoo.load_pretrained(folder)
    assert model.residual_noise == recipe.SMOKE["residual_noise"] == 0.02


def test_widened_model_votes_as_the_narrow_one_and_trains_its_new_units(digits):
    """``widen`` grows hidden_units (perception filters and MLP units) without changing a
    single step: new units read the old ones, nothing reads them until training does."""
    from cax_zoo.training import widen

    narrow = _tiny(residual_noise=0.02)
    wide = widen(narrow, _tiny(residual_noise=0.02, perturb=False, hidden_units=20))
    assert wide.hidden_units == 20 and wide.perceive.weight.shape[0] == 20
    assert wide.update.mlp.weights[0].shape == (20, 20) and wide.update.mlp.weights[-1].shape[1] == 20
    state = narrow.initial_state(digits[0][:8])
    key = jax.random.PRNGKey(4)
    np.testing.assert_allclose(wide.rollout(state, 12, key=key), narrow.rollout(state, 12, key=key), atol=1e-5)
    # the new units are live: the loss has a gradient on the weights that read them
    def loss(m):
        return jnp.sum(m.rollout(state, 3, key=key)[..., -10:] ** 2)

    g = eqx.filter_grad(loss)(wide)
    assert float(jnp.abs(g.update.mlp.weights[-1][:, 8:]).max()) > 0
    assert float(jnp.abs(g.update.mlp.weights[0][:, 8:]).max()) > 0


def test_widen_refuses_what_does_not_fit():
    from cax_zoo.training import widen

    with pytest.raises(ConfigError, match="does not fit"):
        widen(_tiny(hidden_units=20), _tiny(hidden_units=8))
    with pytest.raises(ConfigError, match="cannot grow"):
        widen(_tiny(), cax_zoo.GrowingNCA(num_channels=8, hidden_units=8, size=12, key=jax.random.PRNGKey(0)))


def test_init_pretrained_with_more_hidden_units_widens_the_release(tmp_path, digits):
    from cax_zoo.training import initial_model, parse_recipe_args

    narrow = _tiny(residual_noise=0.02)
    cax_zoo.save_pretrained(narrow, tmp_path / "narrow")

    def start(units):
        cfg = {**recipe.SMOKE, "hidden_channels": 2, "hidden_units": units}
        run = parse_recipe_args(["--init", "pretrained", "--pretrained", str(tmp_path / "narrow"), "--out",
                                 str(tmp_path / "out")], name=recipe.NAME, description="x", full=cfg, smoke=cfg)
        return initial_model(run, lambda: recipe.create_model(cfg), widen_fields=recipe.WIDEN_FIELDS)

    wide = start(24)
    assert wide.hidden_units == 24 and wide.perceive.weight.shape[0] == 24
    state = narrow.initial_state(digits[0][:4])
    key = jax.random.PRNGKey(9)
    np.testing.assert_allclose(wide.rollout(state, 8, key=key), narrow.rollout(state, 8, key=key), atol=1e-5)
    assert start(4).hidden_units == 8  # a smaller width from the recipe's config (--smoke's) keeps the pretrained one


@pytest.mark.parametrize("pair,named", [("hidden_channels=12", "hidden_channels=12 would change the shape"),
                                        ("hidden_units=40", "hidden_units=40 would change the shape")])
def test_init_pretrained_refuses_a_given_config_that_reshapes_the_release(tmp_path, capsys, pair, named):
    """A --config the user gives that the pretrained arrays cannot take is a one-line error
    (before, the run trained the release's shape while its card listed the given value)."""
    code = recipe.main(["--smoke", "--no-progress", "--out", str(tmp_path / "o"), "--init", "pretrained",
                        "--config", pair])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "(pretrained: " in err and "\n" not in err
    assert not (tmp_path / "o" / "checkpoints").exists()


def test_init_pretrained_applies_a_given_config_that_fits_the_release(tmp_path):
    """A static field the user gives (``residual_noise=0``) is what the fine-tune trains
    with; ``--smoke``'s own differences from the release (8 hidden units) are not applied."""
    from cax_zoo.training import initial_model, parse_recipe_args

    released = cax_zoo.load("mnist_self_classify")
    assert released.residual_noise == 0.02

    def start(*config):
        args = ["--smoke", "--init", "pretrained", "--out", str(tmp_path / "out")]
        for pair in config:
            args += ["--config", pair]
        run = parse_recipe_args(args, name=recipe.NAME, description="x", full=recipe.FULL, smoke=recipe.SMOKE)
        return initial_model(run, lambda: recipe.create_model(run.config), widen_fields=recipe.WIDEN_FIELDS)

    tuned = start("residual_noise=0", "alive_threshold=0.2")
    assert tuned.residual_noise == 0.0 and tuned.alive_threshold == 0.2
    np.testing.assert_array_equal(tuned.update.mlp.weights[0], released.update.mlp.weights[0])
    kept = start()
    assert kept.residual_noise == released.residual_noise and kept.hidden_units == released.hidden_units
