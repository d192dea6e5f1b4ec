"""The registry: names, listing, creation, loading, and bad names."""

import pytest

import cax_zoo
from cax_zoo import ConfigError, UnknownModelError


def test_load_life_and_elementary_ready_to_run():
    life = cax_zoo.load("life")
    assert life.rule == "B3/S23"
    assert life.rollout(life.init_state(16), 3).shape == (16, 16, 1)
    eca = cax_zoo.load("elementary")
    assert eca.rule == 30
    assert cax_zoo.load("elementary", rule=110).rule == 110
    assert cax_zoo.load("life", rule="B36/S23").rule == "B36/S23"
    assert cax_zoo.load("life", rule="highlife").rule == "B36/S23"


def test_presets_and_overrides():
    assert cax_zoo.load("life/seeds").rule == "B2/S"
    assert cax_zoo.load("life/seeds", boundary="zero").boundary == "zero"


def test_list_models():
    names = cax_zoo.list_models()
    assert names == sorted(names) and {"life", "elementary"} <= set(names)
    assert all(n.startswith("life") for n in cax_zoo.list_models("life*"))
    assert set(cax_zoo.list_models(pretrained=True)).isdisjoint(cax_zoo.list_models(pretrained=False))
    assert sorted(cax_zoo.list_models(pretrained=True) + cax_zoo.list_models(pretrained=False)) == names


def test_unknown_name_suggests():
    with pytest.raises(UnknownModelError, match="unknown model 'lief'.*did you mean 'life'"):
        cax_zoo.load("lief")
    with pytest.raises(UnknownModelError, match="elementary"):
        cax_zoo.create("elementry")


@pytest.mark.parametrize("name", ["../weights/life", "/etc/passwd", "./life", "a/b/c", "..", "C:\\x"])
def test_path_like_names_are_refused(name):
    with pytest.raises(UnknownModelError, match="path|unknown"):
        cax_zoo.load(name)


def test_unknown_config_key():
    with pytest.raises(ConfigError, match="colour"):
        cax_zoo.create("life", colour="red")


def test_revision_only_for_hub():
    with pytest.raises(ConfigError, match="revision"):
        cax_zoo.load("life", revision="v1")


def test_register_rejects_bad_names_and_duplicates():
    with pytest.raises(ConfigError, match="invalid model name"):
        cax_zoo.register("Bad Name")
    with pytest.raises(ConfigError, match="already registered"):
        cax_zoo.register("life")(lambda **kw: None)


def test_non_string_name():
    with pytest.raises(UnknownModelError, match="string"):
        cax_zoo.load(3)


def test_rule_override_of_a_released_creature_is_refused_not_undone():
    """A Lenia creature's rule lives in its weights only (config.json holds its shapes), so
    overriding it at load time is refused instead of being silently undone by the weights;
    the catalogue rebuild takes the override."""
    import numpy as np

    with pytest.raises(ConfigError, match="rule once"):
        cax_zoo.load("lenia/orbium", m=0.2)
    orbium = cax_zoo.load("lenia/orbium")
    assert "m" not in orbium.config() and orbium.config()["num_kernels"] == 1
    tweaked = cax_zoo.create("lenia/orbium", m=0.2)
    np.testing.assert_allclose(np.asarray(tweaked.rule.m), 0.2)
    np.testing.assert_array_equal(np.asarray(tweaked.pattern), np.asarray(orbium.pattern))
