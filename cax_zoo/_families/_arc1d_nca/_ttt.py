"""Test-time training: fine-tune a copy of the 1D-ARC NCA on one task's demonstrations.

Written as optax over an ``eqx.partition`` of the model: the adapted arrays (every
parameter, or only the biases) are trained with Adam on per-parameter normalised gradients
(:func:`cax_zoo.training.normalize_per_parameter`); the rest stays as it is.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, PyTree

from ..._training._optim import normalize_per_parameter
from ._model import Arc1DNCA, logits

ADAPT = {"all": "every weight and bias", "bias": "only the biases (the task lives in a shift of the rule's biases)"}
"""What test-time training may change."""


def adapted_filter(model: Arc1DNCA, adapt: str = "all") -> PyTree[bool]:
    """The ``eqx.partition`` filter of the arrays test-time training changes (:data:`ADAPT`)."""
    spec = jax.tree_util.tree_map(eqx.is_array, model)
    if model.contexts is not None:  # the stored contexts pick the start; TTT never changes them
        spec = eqx.tree_at(lambda m: m.contexts, spec, False)
    if adapt == "bias":  # the arrays held in fields whose names say bias
        spec = jax.tree_util.tree_map_with_path(lambda path, a: a and _is_bias(path), spec)
    return spec


def _is_bias(path) -> bool:
    names = [k.name for k in path if isinstance(k, jax.tree_util.GetAttrKey)]
    return bool(names) and "bias" in names[-1]


def pairs_loss(model: Arc1DNCA, xs: Int[Array, "N L"], ys: Int[Array, "N L"], masks: Bool[Array, "N L"],
               steps: int) -> Float[Array, ""]:
    """Mean cross-entropy of the output colours over the real cells of the rows ``xs -> ys``."""
    out = jax.vmap(lambda x, m: logits(model, x, m, steps))(xs, masks)
    ce = optax.softmax_cross_entropy_with_integer_labels(out, ys)
    w = masks.astype(jnp.float32)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)


def adapt(model: Arc1DNCA, xs, ys, masks, perms, key: PRNGKeyArray, *, steps: int, ttt_steps: int,
          lr: float, per_step: int = 1, adapt: str = "all") -> tuple[Arc1DNCA, Float[Array, " T"]]:
    """Fine-tune ``model`` on one task's demonstrations ``xs, ys, masks`` ``(N, L)``, with
    ``per_step`` colour permutations drawn from ``perms`` ``(P, 10)`` at each Adam step.
    Returns the adapted model and the loss of every step ``(ttt_steps,)``."""
    params, static = eqx.partition(model, adapted_filter(model, adapt))
    optimizer = optax.chain(normalize_per_parameter(), optax.adam(lr))
    n, length = xs.shape

    def body(carry, k):
        p, state = carry
        perm = perms[jax.random.randint(k, (per_step,), 0, perms.shape[0])]  # (S, 10)
        bx = jax.vmap(lambda q: q[xs])(perm).reshape(per_step * n, length)
        by = jax.vmap(lambda q: q[ys])(perm).reshape(per_step * n, length)
        bm = jnp.tile(masks, (per_step, 1))
        loss, grads = eqx.filter_value_and_grad(
            lambda q: pairs_loss(eqx.combine(q, static), bx, by, bm, steps))(p)
        updates, state = optimizer.update(grads, state, p)
        return (eqx.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(body, (params, optimizer.init(params)), jax.random.split(key, ttt_steps))
    return eqx.combine(params, static), losses
