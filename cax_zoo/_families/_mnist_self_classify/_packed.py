"""Evaluation rollouts on packed live cells: the live cells of many digits in one list, and
each step only the cells that fire are computed.

The same rule and the same random firing as :func:`~cax_zoo.mnist.sparse_rollout` (which
computes every cell of a padded per-digit list and then keeps the update of the cells that
fire): a cell that does not fire keeps its state exactly, so skipping its update changes
nothing. Packing digits of any size back to back removes the per-digit padding, and one
compiled rollout serves every chunk of cells.

A model with ``residual_noise`` > 0 adds N(0, residual_noise) to the update of every cell
that fires (the noise of a cell that does not fire is masked away, so it is not drawn),
from its own key: the same rule as :func:`~cax_zoo.mnist.sparse_rollout` (the same
firing), with other draws of the noise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from ..._blocks._nca import update_draws
from ..._errors import ConfigError
from ._images import SIDE
from ._model import NUM_CLASSES, SelfClassifyingMNIST
from ._sparse import OFFSETS


class PackedChunk(eqx.Module):
    """The live cells of consecutive digits, back to back, padded to a fixed size ``N``.

    ``nbr`` ``(N, 9)``: neighbour rows into the list in the perception's patch order
    (``N`` = a zero row for dead or outside neighbours); ``nbr_grey`` ``(N, 9)``: the
    neighbours' grey levels; ``digit`` ``(N,)``: the digit of each cell, ``0 .. D-1``
    (``D`` = ``num_digits`` for padding); ``position`` ``(N,)``: the cell's index in its
    digit's row-major live-cell list (the index :func:`live_cell_batch` gives it);
    ``first`` / ``count``: the digits' range in the caller's digit order."""

    nbr: np.ndarray
    nbr_grey: np.ndarray
    digit: np.ndarray
    position: np.ndarray
    first: int = eqx.field(static=True)
    count: int = eqx.field(static=True)


def pack_digits(images: np.ndarray, threshold: float, num_cells: int, num_digits: int) -> Iterator[PackedChunk]:
    """Split uint8 digits ``(B, 28, 28)`` into chunks of at most ``num_cells`` live cells
    and ``num_digits`` digits, in order, a digit never split across chunks."""
    grey = images.astype(np.float32) / 255.0
    alive = grey > threshold
    live = alive.reshape(len(images), -1).sum(-1)
    if live.max(initial=0) > num_cells:
        raise ConfigError(f"a digit has {live.max()} live cells, more than a chunk's {num_cells}")
    start = 0
    while start < len(images):
        stop, cells = start, 0
        while stop < len(images) and stop - start < num_digits and cells + live[stop] <= num_cells:
            cells += live[stop]
            stop += 1
        yield _chunk(grey[start:stop], alive[start:stop], start, num_cells, num_digits)
        start = stop


def _chunk(grey: np.ndarray, alive: np.ndarray, first: int, num_cells: int, num_digits: int) -> PackedChunk:
    d, ys, xs = np.nonzero(alive)  # digit-major, then row-major: the packed order
    n = len(d)
    offsets = np.concatenate([[0], np.cumsum(alive.reshape(len(alive), -1).sum(-1))[:-1]])
    pos = np.full((len(alive), SIDE + 2, SIDE + 2), num_cells, np.int32)
    pos[d, ys + 1, xs + 1] = np.arange(n, dtype=np.int32)
    gp = np.pad(grey, ((0, 0), (1, 1), (1, 1)))
    nbr = np.full((num_cells, 9), num_cells, np.int32)
    nbr_grey = np.zeros((num_cells, 9), np.float32)
    for k, (dy, dx) in enumerate(OFFSETS):
        nbr[:n, k] = pos[d, ys + 1 + dy, xs + 1 + dx]
        nbr_grey[:n, k] = gp[d, ys + 1 + dy, xs + 1 + dx]
    digit = np.full(num_cells, num_digits, np.int32)
    digit[:n] = d
    position = np.zeros(num_cells, np.int32)
    position[:n] = np.arange(n) - offsets[d]
    return PackedChunk(nbr, nbr_grey, digit, position, first, len(alive))


@functools.partial(jax.jit, static_argnames=("num_steps", "batch_size", "length", "fire_rate", "noisy"))
def batch_fire_masks(key: PRNGKeyArray, *, num_steps: int, batch_size: int, length: int,
                     fire_rate: float, noisy: bool = False) -> Bool[Array, "T B L"]:
    """Which cells fire, ``(T, B, L)``, exactly as :func:`sparse_rollout` draws them for a
    padded batch of ``B`` digits of list length ``L`` from ``key``: one key per step, split
    into one per digit, a Bernoulli draw of shape ``(L, 1)`` per digit (``noisy``: a model
    with residual noise, whose step splits that key into a fire key and a noise key)."""

    def one_digit(kk):  # the step's own draw (its unused noise is compiled away)
        fire, _ = update_draws(kk, (length,), 1, fire_rate, 1.0 if noisy else 0.0)
        return jnp.ones((length,), bool) if fire is None else fire[:, 0] > 0

    def one_step(k):
        keys = jax.random.split(k, batch_size)
        return jax.vmap(one_digit)(keys)

    return jax.vmap(one_step)(jax.random.split(key, num_steps))


@eqx.filter_jit
def packed_rollout(model: SelfClassifyingMNIST, nbr: Int[Array, "N 9"], nbr_grey: Float[Array, "N 9"],
                   digit: Int[Array, " N"], fire: Bool[Array, "T N"], num_digits: int,
                   capacity: int, noise_key: PRNGKeyArray | None = None) -> Int[Array, "T D 10"]:
    """Roll a packed chunk out from zero hidden channels, firing ``fire[t]`` at step
    ``t + 1``; per step, per digit, the vote counts ``(T, D, 10)`` of its live cells.

    Each step gathers the (at most ``capacity``) firing cells and computes only them; a
    step with more firing cells computes every cell instead (same result, slower). With
    the model's ``residual_noise`` > 0, ``noise_key`` (required then) draws the noise
    added to the firing cells' updates, one key per step."""
    n = nbr.shape[0]
    c1 = model.num_channels - 1
    sigma = model.residual_noise
    if sigma > 0.0 and noise_key is None:
        raise ConfigError("packed_rollout needs a noise_key for a model with residual_noise > 0")
    noisy = sigma > 0.0
    nbr_ext = jnp.concatenate([nbr, jnp.full((1, 9), n, nbr.dtype)])
    grey_ext = jnp.concatenate([nbr_grey, jnp.zeros((1, 9), nbr_grey.dtype)])

    def patches(hidden, nb, ng):
        rows = jnp.concatenate([hidden, jnp.zeros((1, c1), hidden.dtype)], axis=0)
        return jnp.concatenate([ng[..., None], rows[nb]], axis=-1)  # (M, 9, C)

    def noised(delta, k):
        return delta + sigma * jax.random.normal(k, delta.shape, delta.dtype) if noisy else delta

    def firing_only(hidden, f, k):
        idx = jnp.nonzero(f, size=capacity, fill_value=n)[0]
        delta = noised(model.cell_delta(patches(hidden, nbr_ext[idx], grey_ext[idx])), k)
        return hidden.at[idx].add(delta, mode="drop")

    def every_cell(hidden, f, k):
        delta = noised(model.cell_delta(patches(hidden, nbr, nbr_grey)), k)
        return hidden + delta * f[:, None].astype(delta.dtype)

    def body(hidden, xs):
        f, k = xs
        hidden = jax.lax.cond(jnp.sum(f) <= capacity, firing_only, every_cell, hidden, f, k)
        vote = jnp.argmax(hidden[:, -NUM_CLASSES:], axis=-1)
        counts = jnp.zeros((num_digits, NUM_CLASSES), jnp.int32).at[digit, vote].add(1, mode="drop")
        return hidden, counts

    keys = jax.random.split(noise_key, fire.shape[0]) if noisy else None
    _, counts = jax.lax.scan(body, jnp.zeros((n, c1), jnp.float32), (fire, keys))
    return counts
