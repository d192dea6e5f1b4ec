"""The self-classifying MNIST rule on live-cell lists: the same perceive and update modules
as the dense :meth:`~cax_zoo.SelfClassifyingMNIST.step`, computed only on the live cells
of each digit (a few times cheaper than the 28x28 grid; used by evaluation and training)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ..._blocks._nca import stochastic_update
from ..._nca._perceive import window_offsets
from ._model import NUM_CLASSES, SelfClassifyingMNIST
from ._images import SIDE

OFFSETS = window_offsets(2, 1)  # (dy, dx) row-major, the order of the perception's patches


def live_cell_batch(images: np.ndarray, threshold: float, length: int):
    """Live-cell lists of a batch of uint8 digits ``(B, 28, 28)``, padded to ``length``:
    neighbour rows ``(B, L, 9)`` into the list (``length`` = a zero row for dead or
    outside neighbours), the neighbours' grey levels ``(B, L, 9)`` and validity ``(B, L)``."""
    b = images.shape[0]
    grey = images.astype(np.float32) / 255.0
    gp = np.pad(grey, ((0, 0), (1, 1), (1, 1)))
    nbr = np.full((b, length, 9), length, np.int32)
    nbr_grey = np.zeros((b, length, 9), np.float32)
    valid = np.zeros((b, length), bool)
    for i in range(b):
        ys, xs = np.nonzero(grey[i] > threshold)
        n = len(ys)
        pos = np.full((SIDE + 2, SIDE + 2), length, np.int32)
        pos[ys + 1, xs + 1] = np.arange(n)
        for k, (dy, dx) in enumerate(OFFSETS):
            nbr[i, :n, k] = pos[ys + 1 + dy, xs + 1 + dx]
            nbr_grey[i, :n, k] = gp[i, ys + 1 + dy, xs + 1 + dx]
        valid[i, :n] = True
    return nbr, nbr_grey, valid


def live_cells(grey: Float[Array, "28 28"], threshold: float, length: int):
    """The live-cell list of one digit, traceable (fixed ``length``; a digit with more live
    cells keeps its first ``length`` in row-major order): flat indices ``(L,)`` into
    ``28*28`` (``784`` for padding), neighbour rows ``(L, 9)`` into the list (``L`` = a zero
    row for dead or outside neighbours), neighbour grey levels ``(L, 9)`` and validity ``(L,)``."""
    n = SIDE * SIDE
    idx = jnp.nonzero((grey > threshold).ravel(), size=length, fill_value=n)[0]
    valid = idx < n
    pos = jnp.full((n + 1,), length, jnp.int32).at[idx].set(jnp.arange(length, dtype=jnp.int32))
    pos = pos.at[n].set(length)
    y, x = idx // SIDE, idx % SIDE
    gflat = jnp.concatenate([grey.ravel(), jnp.zeros((1,), grey.dtype)])
    nbr, ng = [], []
    for dy, dx in OFFSETS:
        ny, nx = y + dy, x + dx
        inside = valid & (ny >= 0) & (ny < SIDE) & (nx >= 0) & (nx < SIDE)
        flat = jnp.where(inside, ny * SIDE + nx, n)
        nbr.append(pos[flat])
        ng.append(gflat[flat])
    return idx, jnp.stack(nbr, -1), jnp.stack(ng, -1), valid


def sparse_step(model: SelfClassifyingMNIST, hidden: Float[Array, "L C1"], nbr: Int[Array, "L 9"],
                nbr_grey: Float[Array, "L 9"], valid: Bool[Array, " L"],
                key: PRNGKeyArray | None) -> Float[Array, "L C1"]:
    """One step on a live-cell list: ``hidden`` (channels 1: of the live cells) -> next
    (the same rule as :meth:`SelfClassifyingMNIST.step`, on live cells only).

    ``key`` is used as the dense step uses it (the fire mask, and with the model's
    ``residual_noise`` the noise) but the draws have the list's shape ``(L, ...)``, not the
    grid's: with a key the two paths are the same random rule, not the same draws."""
    rows = jnp.concatenate([hidden, jnp.zeros((1, hidden.shape[-1]), hidden.dtype)], axis=0)
    patches = jnp.concatenate([nbr_grey[..., None], rows[nbr]], axis=-1)  # (L, 9, C)
    new = stochastic_update(hidden, model.cell_delta(patches), model.fire_rate, key,
                            residual_noise=model.residual_noise)
    return new * valid[:, None].astype(new.dtype)


@eqx.filter_jit
def sparse_rollout(model: SelfClassifyingMNIST, nbr, nbr_grey, valid, labels, key, num_steps: int):
    """Roll out live-cell lists ``(B, L, ...)`` from zero hidden channels; per step, per
    digit: vote counts ``(T, B, 10)`` and the number of live cells voting for ``labels``
    ``(T, B)``."""
    b, length = valid.shape
    c1 = model.num_channels - 1
    onehot = jax.nn.one_hot(labels, NUM_CLASSES, dtype=jnp.int32)

    def one(hidden, nb, ng, va, k):
        return sparse_step(model, hidden, nb, ng, va, k)

    def body(hidden, k):
        keys = jax.random.split(k, b)
        hidden = jax.vmap(one)(hidden, nbr, nbr_grey, valid, keys)
        vote = jnp.argmax(hidden[..., -NUM_CLASSES:], axis=-1)
        counts = jnp.sum(jax.nn.one_hot(vote, NUM_CLASSES, dtype=jnp.int32) * valid[..., None], axis=1)
        right = jnp.sum((counts * onehot), axis=-1)
        return hidden, (counts, right)

    hidden = jnp.zeros((b, length, c1), jnp.float32)
    _, (counts, right) = jax.lax.scan(body, hidden, jax.random.split(key, num_steps))
    return counts, right
