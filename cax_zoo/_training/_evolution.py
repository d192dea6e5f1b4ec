"""OpenAI-ES (Salimans et al. 2017), the evolution strategy of CAX's gradient-free NCA
training (notebook 52, evosax's ``Open_ES``): a Gaussian search distribution of fixed
spread around a mean, whose estimated fitness gradient drives an optax optimiser.

Pure functions over a PyTree of parameters, as optax's transformations are::

    es = OpenES(population_size=64, std=0.01, optimizer=optax.adam(1e-3))
    state = es.init(params)
    for generation in ...:
        population = es.ask(key, state)       # every leaf gets a leading population axis
        fitness = jax.vmap(loss)(population)  # lower is better (a loss)
        state, metrics = es.tell(population, fitness, state)
    params = state.mean

The estimate: with ``x_i = mean + std * eps_i`` (``eps_i`` standard normal, antithetic:
the second half of the population mirrors the first), ``g = sum_i w_i eps_i / (N std)``
where ``w`` is the fitness shaped by centred ranks (in ``[-0.5, 0.5]``, lowest fitness
lowest) or used raw. ``g`` points uphill in fitness, so the optimiser descends it.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Int, PRNGKeyArray, PyTree

from .._errors import ConfigError
from .._validation import check_bool, check_choice, check_float, check_int

FITNESS_SHAPINGS = ("centred_rank", "raw")
MAX_POPULATION = 1 << 20


class OpenESState(eqx.Module):
    """The search distribution's mean (the parameters' PyTree), the optimiser's state
    and the generation count."""

    mean: PyTree[Array]
    opt_state: PyTree
    generation: Int[Array, ""]


def centred_ranks(fitness: Float[Array, " N"]) -> Float[Array, " N"]:
    """Each entry's rank scaled to ``[-0.5, 0.5]`` (the lowest -0.5, the highest 0.5):
    fitness shaping that ignores the scale and outliers of the fitness."""
    n = fitness.shape[0]
    ranks = jnp.argsort(jnp.argsort(fitness)).astype(jnp.float32)
    return ranks / max(n - 1, 1) - 0.5


class OpenES(eqx.Module):
    """OpenAI-ES with an optax ``optimizer`` on the estimated gradient (minimises fitness).

    ``population_size`` candidates per generation (even when ``antithetic``), sampled with
    spread ``std`` around the mean; ``fitness_shaping`` is ``"centred_rank"`` or ``"raw"``.
    """

    population_size: int = eqx.field(static=True)
    std: float = eqx.field(static=True)
    optimizer: optax.GradientTransformation = eqx.field(static=True)
    antithetic: bool = eqx.field(static=True)
    fitness_shaping: str = eqx.field(static=True)

    def __init__(self, population_size: int, std: float, optimizer: optax.GradientTransformation, *,
                 antithetic: bool = True, fitness_shaping: str = "centred_rank"):
        self.population_size = check_int("population_size", population_size, minimum=2, maximum=MAX_POPULATION)
        self.std = check_float("std", std, minimum=0.0, maximum=1e6, open_minimum=True)
        self.antithetic = check_bool("antithetic", antithetic)
        self.fitness_shaping = check_choice("fitness_shaping", fitness_shaping, FITNESS_SHAPINGS)
        if self.antithetic and self.population_size % 2:
            raise ConfigError(f"population_size must be even for antithetic sampling, got {population_size}")
        if not (callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))):
            raise ConfigError(f"optimizer must be an optax GradientTransformation, got {type(optimizer).__name__}")
        self.optimizer = optimizer

    def init(self, params: PyTree[Array]) -> OpenESState:
        """The state of a search centred on ``params`` (any PyTree of float arrays)."""
        leaves = jax.tree_util.tree_leaves(params)
        if not leaves:
            raise ConfigError("OpenES needs at least one parameter array")
        bad = [x.dtype for x in leaves if not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
        if bad:
            raise ConfigError(f"OpenES evolves float arrays only, got {bad[0]}")
        return OpenESState(mean=params, opt_state=self.optimizer.init(params),
                           generation=jnp.zeros((), jnp.int32))

    def ask(self, key: PRNGKeyArray, state: OpenESState) -> PyTree[Array]:
        """``population_size`` candidates: the mean's PyTree with a leading population axis
        on every leaf."""
        flat, unravel = ravel_pytree(state.mean)
        n = self.population_size
        if self.antithetic:
            half = jax.random.normal(key, (n // 2, flat.shape[0]), flat.dtype)
            eps = jnp.concatenate([half, -half])
        else:
            eps = jax.random.normal(key, (n, flat.shape[0]), flat.dtype)
        return jax.vmap(unravel)(flat + self.std * eps)

    def gradient(self, population: PyTree[Array], fitness: Float[Array, " N"],
                 state: OpenESState) -> PyTree[Array]:
        """The estimated gradient of the expected fitness at the mean (the mean's PyTree)."""
        flat_mean, unravel = ravel_pytree(state.mean)
        flat_pop = jax.vmap(lambda p: ravel_pytree(p)[0])(population)
        eps = (flat_pop - flat_mean) / self.std
        fitness = jnp.asarray(fitness, jnp.float32)
        if fitness.shape != (self.population_size,):
            raise ConfigError(f"fitness must have shape ({self.population_size},), got {fitness.shape}")
        weights = centred_ranks(fitness) if self.fitness_shaping == "centred_rank" else fitness
        return unravel(weights.astype(eps.dtype) @ eps / (self.population_size * self.std))

    def tell(self, population: PyTree[Array], fitness: Float[Array, " N"],
             state: OpenESState) -> tuple[OpenESState, dict[str, Any]]:
        """One optimiser step of the mean down the estimated gradient; also the fitness
        statistics of this generation (``mean_fitness``, ``best_fitness``) and ``grad_norm``."""
        grad = self.gradient(population, fitness, state)
        updates, opt_state = self.optimizer.update(grad, state.opt_state, state.mean)
        mean = optax.apply_updates(state.mean, updates)
        fitness = jnp.asarray(fitness, jnp.float32)
        metrics = {"mean_fitness": jnp.mean(fitness), "best_fitness": jnp.min(fitness),
                   "grad_norm": optax.tree.norm(grad)}
        return OpenESState(mean=mean, opt_state=opt_state, generation=state.generation + 1), metrics
