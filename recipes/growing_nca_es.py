"""Recipe: train the growing neural CA without gradients, by an evolution strategy (CAX, Faldor & Cully 2025).

    cax-zoo train growing_nca/lizard_es --out runs/lizard_es          # CAX's notebook 52 config (a GPU)
    python -m recipes.growing_nca_es --smoke --out /tmp/smoke            # seconds (CI)

As in CAX's notebook 52: the growing NCA's update MLP (the perception stays the fixed
identity and Sobel kernels) is evolved by OpenAI-ES (:class:`cax_zoo.training.OpenES`:
antithetic Gaussian samples of constant spread ``std`` around the mean, centred-rank
fitness shaping, Adam on the estimated gradient). Each generation every candidate grows
the lizard from one seed cell for ``rollout_steps`` steps (all candidates with the same
stochastic-update key); its fitness is the RGBA mean squared error to the target averaged
over the last ``loss_steps`` states. No pool, no damage: the released model grows the
lizard, regeneration is not trained. The history records the population's mean fitness.

The release is an ordinary :class:`cax_zoo.GrowingNCA` (``default_steps`` = ``rollout_steps``),
evaluated as ``growing_nca/lizard`` is, on the ``target.png`` it ships.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import cax_zoo
from cax_zoo import ConfigError, GrowingNCA
from cax_zoo.growing_nca import LIZARD, TARGET_FILE, emoji_about, emoji_target, evaluate, released_target, target_png
from cax_zoo.training import (
    OpenES, RecipeRun, begin, config_differences, drive, finish, initial_model, key_data, model_card,
    parse_recipe_args, run_main,
)

PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "growing NCA trained by an evolution strategy (OpenAI-ES, Salimans et al. 2017)")
NAME = "growing_nca/lizard_es"

FULL: dict[str, Any] = {  # CAX's notebook 52
    "seed": 0,
    "steps": 10240,  # generations
    "population_size": 512,
    "std": 1e-3,  # constant
    "lr": 1e-3,  # Adam on the ES gradient
    "rollout_steps": 90,
    "loss_steps": 32,  # fitness: the mean RGBA MSE over the last 32 states
    "target_size": 40,
    "padding": 4,
    "num_channels": 16,
    "hidden_units": 128,
    "fire_rate": 0.5,
    "checkpoint_every": 128,
}
SMOKE: dict[str, Any] = {
    **FULL, "steps": 4, "population_size": 4, "std": 0.02, "rollout_steps": 5, "loss_steps": 2,
    "target_size": 8, "padding": 2, "num_channels": 8, "hidden_units": 8, "checkpoint_every": 2,
}


def preview(steps: int) -> list[str]:
    """cax-zoo run arguments of the release's preview.gif: grow ``steps``, cut, regrow as long."""
    return ["--steps", str(2 * steps), "--damage-at", str(steps), "--every", str(max(1, steps // 12)),
            "--fps", "10", "--seed", "0"]


PREVIEW = preview(FULL["rollout_steps"])
PREVIEW_SMOKE = ["--steps", "8", "--damage-at", "4", "--seed", "0"]


def check_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """The recipe's constraints between fields (each field's range is checked by
    :func:`cax_zoo.training.check_recipe_config`, the model's fields by :class:`GrowingNCA`,
    the strategy's by :class:`cax_zoo.training.OpenES`)."""
    for name in ("steps", "population_size", "rollout_steps", "loss_steps", "target_size", "checkpoint_every"):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    v = cfg["padding"]
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ConfigError(f"padding must be a non-negative integer, got {v!r}")
    for name, hi in (("lr", 10.0), ("std", 10.0)):
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= hi:
            raise ConfigError(f"{name} must be a number in (0, {hi:g}], got {v!r}")
    if cfg["population_size"] % 2:
        raise ConfigError(f"population_size must be even (antithetic sampling), got {cfg['population_size']}")
    if cfg["loss_steps"] > cfg["rollout_steps"]:
        raise ConfigError(f"loss_steps ({cfg['loss_steps']}) must not exceed rollout_steps ({cfg['rollout_steps']})")
    return cfg


def create_model(cfg: dict[str, Any]) -> GrowingNCA:
    """A fresh model for the recipe config ``cfg`` (parameters from ``cfg["seed"]``)."""
    return GrowingNCA(num_channels=cfg["num_channels"], hidden_units=cfg["hidden_units"],
                      fire_rate=cfg["fire_rate"], size=cfg["target_size"] + 2 * cfg["padding"],
                      default_steps=cfg["rollout_steps"], key=jax.random.PRNGKey(cfg["seed"]))


def make_strategy(cfg: dict[str, Any]) -> OpenES:
    """CAX's strategy: OpenAI-ES with Adam at ``lr`` on the gradient estimate."""
    return OpenES(cfg["population_size"], cfg["std"], optax.adam(cfg["lr"]))


def evolved(model: GrowingNCA):
    """The filter of what evolves: the update MLP's arrays (the perception has none)."""
    spec = jax.tree_util.tree_map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.update, spec, jax.tree_util.tree_map(eqx.is_array, model.update))


def fitness_fn(cfg: dict[str, Any]):
    """``fitness(model, seed, target, key)``: the mean RGBA MSE to ``target`` over the last
    ``loss_steps`` of ``rollout_steps`` states grown from ``seed``."""
    n, last = cfg["rollout_steps"], cfg["loss_steps"]

    def fitness(model, seed, target, key):
        _, mses = model.rollout(seed, n, key=key, observe=lambda s: jnp.mean((s[..., :4] - target) ** 2))
        return jnp.mean(mses[-last:])

    return fitness


def make_train_step(strategy: OpenES, cfg: dict[str, Any]):
    """The jitted generation: ask, grow every candidate, tell."""
    fitness = fitness_fn(cfg)

    @eqx.filter_jit
    def train_step(es_state, static, seed, target, key):
        k_ask, k_eval = jax.random.split(key)
        population = strategy.ask(k_ask, es_state)
        values = jax.vmap(lambda p: fitness(eqx.combine(p, static), seed, target, k_eval))(population)
        es_state, metrics = strategy.tell(population, values, es_state)
        return es_state, metrics["mean_fitness"]

    return train_step


def _target(run: RecipeRun, cfg) -> np.ndarray:
    """The lizard at this config's size: a release's ``target.png`` when one holds it
    (``--pretrained``, this model's, ``growing_nca/lizard``'s), else rendered from the font."""
    size, pad = cfg["target_size"], cfg["padding"]
    names = [n for n in dict.fromkeys([run.pretrained, NAME, "growing_nca/lizard"])
             if n and n in cax_zoo.list_models(pretrained=True)]
    for name in names:
        shipped = released_target(cax_zoo.weights_root() / name, char=LIZARD, size=size, padding=pad)
        if shipped is not None:
            return shipped
    return emoji_target(LIZARD, size=size, padding=pad)


def train(run: RecipeRun) -> int:
    begin(run)
    cfg = check_config(run.config)
    if run.name != NAME:
        run.name = NAME
    strategy = make_strategy(cfg)
    target_np = _target(run, cfg)
    model = initial_model(run, lambda: create_model(cfg))
    if model.size != target_np.shape[0]:
        raise ConfigError(f"the model grows {model.size}x{model.size} grids but target_size + 2 padding is "
                          f"{target_np.shape[0]}: pass --config target_size=.. --config padding=.. that add up to "
                          f"{model.size}")
    if model.default_steps != cfg["rollout_steps"]:  # the evaluation's default growth time is this run's
        model = eqx.tree_at(lambda m: m.update, GrowingNCA(**{**model.config(), "default_steps": cfg["rollout_steps"]},
                                                           key=jax.random.PRNGKey(0)), model.update)
    params, static = eqx.partition(model, evolved(model))
    es_state = strategy.init(params)
    seed, target = model.init_state(), jnp.asarray(target_np)
    base_key = jax.random.PRNGKey(cfg["seed"])
    step_fn = make_train_step(strategy, cfg)

    def one(tr, step):
        es, loss = step_fn(tr["es_state"], static, seed, target, jax.random.fold_in(base_key, step))
        return {"es_state": es}, loss

    trained = drive(run, {"es_state": es_state}, one, num_steps=cfg["steps"],
                    checkpoint_every=cfg["checkpoint_every"], desc="growing_nca_es",
                    meta={"seed": cfg["seed"], "key_data": key_data(base_key), "target": "lizard"})
    if not trained.completed:
        return 0
    model = eqx.combine(jax.device_get(trained.trees["es_state"].mean), static)
    metrics = evaluate(model, target=target_np, steps=cfg["rollout_steps"])
    metrics = {**metrics, "final_train_loss": trained.final_loss(),
               "train_steps": trained.steps_done, "train_seconds": trained.train_seconds}
    print(metrics)
    card = model_card(
        f"{NAME}{' (smoke test)' if run.smoke else ''}",
        summary=f"A growing neural CA that grows the lizard emoji (U+1F98E, Noto Color Emoji) from one seed cell "
                f"on a {model.size}x{model.size} grid, trained without gradients by an evolution strategy "
                f"(OpenAI-ES, population {cfg['population_size']}, std {cfg['std']:g}, Adam lr {cfg['lr']:g}, "
                f"{trained.steps_done} generations), the method of CAX's notebook 52.",
        paper=PAPER, command=run.command, config=cfg, metrics=metrics,
        notes="Training: only the update MLP evolves (the perception is the fixed identity and Sobel "
              f"kernels); each generation's {cfg['population_size']} candidates (antithetic, centred-rank "
              f"fitness shaping) grow the lizard for {cfg['rollout_steps']} steps and score the RGBA MSE "
              f"averaged over the last {cfg['loss_steps']} states. No damage is trained. "
              + config_differences(cfg, FULL) + "\n\n"
              "Metrics: `loss` is the RGBA MSE to the target after "
              f"{cfg['rollout_steps']} steps from the seed (mean of {metrics['num_seeds']} runs), as "
              "`growing_nca/lizard` reports it; `loss_after_regrow` the same after a disc of radius size/5 is "
              f"cut out and {cfg['rollout_steps']} more steps run; `final_train_loss` the mean fitness of the "
              "population over the last 50 generations.",
        usage=f"import cax_zoo\nmodel = cax_zoo.load({NAME!r})\nfinal = model.rollout(model.init_state(), "
              f"{cfg['rollout_steps']}, key=__import__('jax').random.PRNGKey(0))\nimage = model.render(final)",
    )
    finish(run, model, name=NAME, card=card, metrics=metrics, history=trained.history,
           run_args=PREVIEW_SMOKE if run.smoke else preview(cfg["rollout_steps"]),
           files={TARGET_FILE: target_png(target_np, **emoji_about(LIZARD, size=cfg["target_size"],
                                                                     padding=cfg["padding"]))})
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_main(train, lambda: parse_recipe_args(
        argv, name=NAME, description=__doc__.splitlines()[0], full=FULL, smoke=SMOKE))


if __name__ == "__main__":
    raise SystemExit(main())
