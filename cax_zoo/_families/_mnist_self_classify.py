"""Self-classifying MNIST digits (Randazzo, Mordvintsev, Niklasson, Levin & Wang 2020,
Distill): a neural CA living on the pixels of a digit, whose cells agree, by local
communication only, on which digit they form.

State ``(28, 28, C)`` float32: channel 0 is the grey level of the pixel (input, never
updated), channels ``1 .. C-11`` are hidden, the last 10 are class logits. Only live
cells (grey > ``alive_threshold``) update, each with probability ``fire_rate``; dead cells
stay zero. A cell's vote is the argmax of its logits; the digit's label is the majority
vote of its live cells.
"""

from __future__ import annotations

import math
import os
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._conv import kernel_stack
from .._blocks._nca import CellMLP, stochastic_update
from .._errors import ConfigError, DataError, StateError
from .._grid import AbstractGridAutomaton
from .._registry import register

NUM_CLASSES = 10
SIDE = 28
CLASS_COLOURS = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]],
    dtype=np.uint8,
)
"""One colour per class (matplotlib's tab10), used by :meth:`SelfClassifyingMNIST.render`."""

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
# the fixed perception filters as (9, 4): identity, sobel-x (d/dx), sobel-y (d/dy), laplacian
_FIXED = kernel_stack(["identity", "sobel", "laplacian"], 2).reshape(4, 9).T.copy()


def _patches(x: Float[Array, "H W C"]) -> Float[Array, "H W 9 C"]:
    """The 3x3 neighbourhood of every cell, zero outside the grid, offsets row-major."""
    h, w = x.shape[:2]
    xp = jnp.pad(x, ((1, 1), (1, 1), (0, 0)))
    return jnp.stack([xp[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS], axis=-2)


@register(
    "mnist_self_classify",
    description="Self-classifying MNIST digits: live pixels agree on the digit by local messages; majority vote",
    paper="Randazzo et al. 2020, Distill, 'Self-classifying MNIST Digits' (doi:10.23915/distill.00027.002)",
    tags=("neural", "2d", "classification", "mnist"),
    recipe="recipes.mnist_self_classify",
    evaluate=lambda model, **kw: evaluate(model, **kw),
)
class SelfClassifyingMNIST(AbstractGridAutomaton):
    """Self-classifying MNIST neural CA. State ``(28, 28, 1 + hidden + 10)`` float32.

    ``perception="learned"`` is the paper's learned 3x3 convolution (``hidden_units``
    filters + ReLU); ``"fixed"`` uses identity, Sobel and Laplacian filters per channel
    (4 features per channel, cheaper). The per-cell MLP has ``mlp_depth`` hidden layers
    of ``hidden_units`` and a zero-initialised output layer.
    """

    hidden_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    perception: str = eqx.field(static=True)
    mlp_depth: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_threshold: float = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    perceive_weight: Float[Array, "F K"] | None
    perceive_bias: Float[Array, " F"] | None
    mlp: CellMLP

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(
        self,
        *,
        hidden_channels: int = 9,
        hidden_units: int = 80,
        perception: str = "learned",
        mlp_depth: int = 1,
        fire_rate: float = 0.5,
        alive_threshold: float = 0.1,
        default_steps: int = 100,
        key: PRNGKeyArray | None = None,
    ):
        for name, v, lo in (("hidden_channels", hidden_channels, 0), ("hidden_units", hidden_units, 1),
                            ("mlp_depth", mlp_depth, 0), ("default_steps", default_steps, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"{name} must be an integer >= {lo}, got {v!r}")
        if perception not in ("learned", "fixed"):
            raise ConfigError(f"perception must be 'learned' or 'fixed', got {perception!r}")
        if not 0.0 < float(fire_rate) <= 1.0:
            raise ConfigError(f"fire_rate must be in (0, 1], got {fire_rate!r}")
        if not 0.0 <= float(alive_threshold) < 1.0:
            raise ConfigError(f"alive_threshold must be in [0, 1), got {alive_threshold!r}")
        self.hidden_channels, self.hidden_units = hidden_channels, hidden_units
        self.perception, self.mlp_depth = perception, mlp_depth
        self.fire_rate, self.alive_threshold = float(fire_rate), float(alive_threshold)
        self.default_steps = default_steps
        self.num_spatial_dims = 2
        self.num_channels = c = 1 + hidden_channels + NUM_CLASSES
        key = jax.random.PRNGKey(0) if key is None else key
        kp, km = jax.random.split(key)
        if perception == "learned":
            lim = math.sqrt(6.0 / (9 * c + hidden_units))
            self.perceive_weight = jax.random.uniform(kp, (hidden_units, 9 * c), jnp.float32, -lim, lim)
            self.perceive_bias = jnp.zeros((hidden_units,), jnp.float32)
            n_in = hidden_units
        else:
            self.perceive_weight = self.perceive_bias = None
            n_in = 4 * c
        self.mlp = CellMLP([n_in] + [hidden_units] * mlp_depth + [c - 1], key=km)

    def config(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels, "hidden_units": self.hidden_units,
            "perception": self.perception, "mlp_depth": self.mlp_depth, "fire_rate": self.fire_rate,
            "alive_threshold": self.alive_threshold, "default_steps": self.default_steps,
        }

    # ------------------------------------------------------------------ the rule
    def cell_delta(self, patches: Float[Array, "*cells 9 C"]) -> Float[Array, "*cells C-1"]:
        """The update of the mutable channels of cells from their 3x3 neighbourhoods."""
        if self.perception == "learned":
            flat = patches.reshape(patches.shape[:-2] + (-1,))
            feats = jax.nn.relu(flat @ self.perceive_weight.T + self.perceive_bias)
        else:
            feats = jnp.einsum("...kc,kf->...cf", patches, jnp.asarray(_FIXED))
            feats = feats.reshape(feats.shape[:-2] + (-1,))
        return self.mlp(feats)

    def step(self, state: Float[Array, "28 28 C"], input=None, *, key: PRNGKeyArray | None = None):
        image = state[..., :1]
        alive = (image > self.alive_threshold).astype(state.dtype)
        delta = self.cell_delta(_patches(state))
        rest = stochastic_update(state[..., 1:], delta, self.fire_rate, key) * alive
        return jnp.concatenate([image, rest], axis=-1)

    # ------------------------------------------------------------------ states
    def initial_state(self, images: Any) -> Float[Array, "*B 28 28 C"]:
        """States for digits ``images`` ``(28, 28)`` or ``(B, 28, 28)``: uint8 0-255 or
        float 0-1 grey levels (white digit on black, as MNIST); hidden and logits zero."""
        x = _as_grey(images)
        state = np.zeros(x.shape + (self.num_channels,), np.float32)
        state[..., 0] = x
        return jnp.asarray(state)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None):
        """A digit drawn with Pillow's default font (no data needed): ``key`` picks the
        digit (default 3). ``size`` must be 28 (or None)."""
        if size not in (None, SIDE, (SIDE, SIDE)):
            raise StateError(f"mnist_self_classify works on 28x28 digits, got size {size!r}")
        digit = 3 if key is None else int(jax.random.randint(key, (), 0, 10))
        return self.initial_state(draw_digit(digit))

    def cli_setup(self, *, size=None, key=None, image=None):
        """``(state, None)`` for ``cax-zoo run``: ``image`` (H, W) or (H, W, C) uint8 is
        converted to a 28x28 MNIST-style digit; without it a drawn digit."""
        if image is None:
            return self.init_state(size, key=key), None
        return self.initial_state(image_to_digit(image)), None

    def check_state(self, state) -> int:
        n = super().check_state(state)
        if tuple(state.shape[-3:-1]) != (SIDE, SIDE):
            raise StateError(f"mnist_self_classify expects 28x28 states, got shape {tuple(state.shape)}")
        return n

    # ------------------------------------------------------------------ reading out
    def votes(self, state) -> np.ndarray:
        """Per-pixel class votes ``(..., 28, 28)`` int: argmax of the logits on live cells,
        -1 on dead ones."""
        s = np.asarray(jax.device_get(state))
        v = np.argmax(s[..., -NUM_CLASSES:], axis=-1)
        return np.where(s[..., 0] > self.alive_threshold, v, -1)

    def classify(self, images: Any, *, steps: int | None = None, key: PRNGKeyArray | None = None) -> np.ndarray:
        """Labels of ``images`` ``(28, 28)`` or ``(B, 28, 28)`` (uint8 0-255 or float 0-1):
        the majority vote of the live cells after ``steps`` (default ``default_steps``)."""
        state = self.initial_state(images)
        steps = self.default_steps if steps is None else steps
        key = jax.random.PRNGKey(0) if key is None else key
        final = self.rollout(state, steps, key=key)
        return majority(self.votes(final))

    def render(self, state) -> np.ndarray:
        """Each live pixel in the colour of its vote, blended over white by its grey level."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 3:
            raise StateError(f"render takes one unbatched state (28, 28, C), got shape {s.shape}")
        grey = np.clip(s[..., 0:1], 0.0, 1.0)
        v = np.argmax(s[..., -NUM_CLASSES:], axis=-1)
        colour = CLASS_COLOURS[v].astype(np.float32)
        colour = np.where(s[..., 0:1] > self.alive_threshold, colour, 255.0)
        out = 255.0 * (1.0 - grey) + colour * grey
        return (out + 0.5).clip(0, 255).astype(np.uint8)


def majority(votes: np.ndarray) -> np.ndarray:
    """Majority vote over the last two axes of per-pixel votes (-1 ignored); ties go to the
    smaller class; no live pixel gives -1."""
    v = np.asarray(votes)
    flat = v.reshape(v.shape[:-2] + (-1,))
    counts = np.stack([(flat == c).sum(-1) for c in range(NUM_CLASSES)], axis=-1)
    return np.where(counts.sum(-1) > 0, np.argmax(counts, axis=-1), -1)


def _as_grey(images: Any) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim not in (2, 3) or x.shape[-2:] != (SIDE, SIDE):
        raise StateError(f"expected digits of shape (28, 28) or (B, 28, 28), got shape {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if x.dtype.kind not in "fiu" or x.dtype.kind == "b":
        raise StateError(f"digits must be uint8 (0-255) or float (0-1), got dtype {x.dtype}")
    x = x.astype(np.float32)
    if x.size and (np.nanmin(x) < 0.0 or np.nanmax(x) > 1.0 or np.isnan(x).any()):
        raise StateError("float digits must lie in [0, 1] (use uint8 for 0-255 grey levels)")
    return x


def image_to_digit(image: Any) -> np.ndarray:
    """Any grey or RGB(A) uint8 image -> a 28x28 uint8 MNIST-style digit (white on black):
    a dark-on-light image is inverted, then it is resized to fit 20x20 and centred."""
    from PIL import Image

    x = np.asarray(image)
    if x.ndim == 3:
        if x.shape[-1] == 4:
            a = x[..., 3:4].astype(np.float32) / 255.0
            x = (x[..., :3].astype(np.float32) * a + 255.0 * (1 - a))
        x = x[..., :3].astype(np.float32).mean(-1) if x.shape[-1] >= 3 else x[..., 0].astype(np.float32)
    if x.ndim != 2 or min(x.shape) < 1:
        raise StateError(f"expected an image (H, W) or (H, W, C), got shape {np.asarray(image).shape}")
    x = x.astype(np.float32)
    if x.max() > 1.0:
        x = x / 255.0
    if x.mean() > 0.5:
        x = 1.0 - x
    if x.shape == (SIDE, SIDE):
        return (x * 255 + 0.5).astype(np.uint8)
    ys, xs = np.nonzero(x > 0.1)
    if len(ys):
        x = x[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = x.shape
    scale = 20.0 / max(h, w)
    im = Image.fromarray((x * 255).astype(np.uint8)).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    out = np.zeros((SIDE, SIDE), np.uint8)
    a = np.asarray(im)
    y0, x0 = (SIDE - a.shape[0]) // 2, (SIDE - a.shape[1]) // 2
    out[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    return out


def draw_digit(digit: int) -> np.ndarray:
    """A 28x28 uint8 digit drawn with Pillow's default font (white on black)."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (64, 64), 0)
    try:
        font = ImageFont.load_default(size=48)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    ImageDraw.Draw(im).text((32, 32), str(int(digit) % 10), fill=255, font=font, anchor="mm")
    return image_to_digit(np.asarray(im))


# ---------------------------------------------------------------------- evaluation
def _sparse_batch(images: np.ndarray, threshold: float, length: int):
    """Live-cell lists of a batch of uint8 digits, padded to ``length``: flat indices
    into ``(H*W)`` of live cells, their 9 neighbours as indices into the live list
    (``length`` = a zero row), the neighbours' grey levels and a validity mask."""
    b = images.shape[0]
    grey = images.astype(np.float32) / 255.0
    gp = np.pad(grey, ((0, 0), (1, 1), (1, 1)))
    nbr = np.full((b, length, 9), length, np.int32)
    nbr_grey = np.zeros((b, length, 9), np.float32)
    valid = np.zeros((b, length), bool)
    for i in range(b):
        live = grey[i] > threshold
        ys, xs = np.nonzero(live)
        n = len(ys)
        pos = np.full((SIDE + 2, SIDE + 2), length, np.int32)
        pos[ys + 1, xs + 1] = np.arange(n)
        for k, (dy, dx) in enumerate(_OFFSETS):
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
    for dy, dx in _OFFSETS:
        ny, nx = y + dy, x + dx
        inside = valid & (ny >= 0) & (ny < SIDE) & (nx >= 0) & (nx < SIDE)
        flat = jnp.where(inside, ny * SIDE + nx, n)
        nbr.append(pos[flat])
        ng.append(gflat[flat])
    return idx, jnp.stack(nbr, -1), jnp.stack(ng, -1), valid


def sparse_step(model: "SelfClassifyingMNIST", hidden, nbr, nbr_grey, valid, key):
    """One step on a live-cell list: ``hidden`` ``(L, C-1)`` -> ``(L, C-1)`` (the same rule
    as :meth:`SelfClassifyingMNIST.step`, computed on live cells only)."""
    rows = jnp.concatenate([hidden, jnp.zeros((1, hidden.shape[-1]), hidden.dtype)], axis=0)
    patches = jnp.concatenate([nbr_grey[..., None], rows[nbr]], axis=-1)  # (L, 9, C)
    new = stochastic_update(hidden, model.cell_delta(patches), model.fire_rate, key)
    return new * valid[:, None].astype(new.dtype)


@eqx.filter_jit
def _sparse_rollout(model: SelfClassifyingMNIST, nbr, nbr_grey, valid, labels, key, num_steps: int):
    """Roll out live-cell lists; per step, per digit: vote counts (10,) and the number of
    live cells voting for the right class."""
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
    return counts, right  # (T, B, 10), (T, B)


def evaluate(
    model: SelfClassifyingMNIST,
    *,
    data: str | os.PathLike | None = None,
    steps: int | None = None,
    limit: int | None = None,
    batch_size: int = 500,
    seed: int = 0,
    split: str = "test",
    report_steps: tuple[int, ...] = (20, 50, 100, 200),
    progress: bool = False,
) -> dict[str, Any]:
    """Score the MNIST test set (10,000 digits; ``limit`` keeps the first ``limit``).

    Returns ``accuracy`` (majority vote of live cells after ``steps``, default the model's
    ``default_steps``), ``pixel_accuracy`` (fraction of live cells voting right at that
    step) and ``accuracy_by_step`` / ``pixel_accuracy_by_step`` at steps 20, 50, 100, 200
    (and ``steps``). Runs on live cells only (the same rule as :meth:`step`)."""
    from .._data._mnist import load_mnist

    if not isinstance(model, SelfClassifyingMNIST):
        raise ConfigError(f"evaluate expects a SelfClassifyingMNIST model, got {type(model).__name__}")
    steps = model.default_steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    images, labels = load_mnist(split, data=data)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
            raise ConfigError(f"limit must be a positive integer, got {limit!r}")
        images, labels = images[:limit], labels[:limit]
    if len(images) == 0:
        raise DataError("no digits to evaluate")
    checkpoints = sorted({int(s) for s in report_steps} | {int(steps)})
    horizon = max(checkpoints)
    live = (images.astype(np.float32) / 255.0 > model.alive_threshold).sum((1, 2))
    order = np.argsort(live, kind="stable")
    n = len(images)
    correct = {s: 0 for s in checkpoints}
    pix_right = {s: 0 for s in checkpoints}
    total_live = int(live.sum())
    key = jax.random.PRNGKey(seed)
    batch_size = max(1, min(batch_size, n))
    starts = range(0, n, batch_size)
    iterator = starts
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(starts, desc="evaluate", unit="batch")
    for bi, start in enumerate(iterator):
        idx = order[start : start + batch_size]
        pad = batch_size - len(idx)
        idx_p = np.concatenate([idx, np.repeat(idx[-1:], pad)]) if pad else idx
        length = max(32, int(math.ceil(live[idx_p].max() / 32) * 32))
        nbr, ng, valid = _sparse_batch(images[idx_p], model.alive_threshold, length)
        counts, right = _sparse_rollout(model, jnp.asarray(nbr), jnp.asarray(ng), jnp.asarray(valid),
                                        jnp.asarray(labels[idx_p].astype(np.int32)),
                                        jax.random.fold_in(key, bi), horizon)
        counts, right = np.asarray(counts)[:, : len(idx)], np.asarray(right)[:, : len(idx)]
        for s in checkpoints:
            c = counts[s - 1]
            pred = np.where(c.sum(-1) > 0, np.argmax(c, -1), -1)
            correct[s] += int((pred == labels[idx]).sum())
            pix_right[s] += int(right[s - 1].sum())
    return {
        "accuracy": correct[steps] / n,
        "pixel_accuracy": pix_right[steps] / max(1, total_live),
        "steps": int(steps),
        "num_images": n,
        "accuracy_by_step": {str(s): correct[s] / n for s in checkpoints},
        "pixel_accuracy_by_step": {str(s): pix_right[s] / max(1, total_live) for s in checkpoints},
    }
