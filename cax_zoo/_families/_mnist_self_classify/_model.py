"""The self-classifying MNIST neural CA: cells living on the pixels of a digit agree, by
local communication only, on which digit they form.

State ``(28, 28, C)`` float32: channel 0 is the grey level of the pixel (input, never
updated), channels ``1 .. C-11`` are hidden, the last 10 are class logits. Only live
cells (grey > ``alive_threshold``) update, each with probability ``fire_rate``; dead cells
stay zero (:class:`~cax_zoo.nca.NCAUpdate` from channel 1 with a per-cell
:class:`~cax_zoo.nca.AliveMask` on channel 0). A cell's vote is the argmax of its logits;
the digit's label is the majority vote of its live cells. ``residual_noise`` > 0 adds
Gaussian noise N(0, residual_noise) to every cell's update before the masks whenever the
cells fire at random (a key is given), at inference too: the article's L2 model.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, optional_key, require_key
from ..._errors import StateError
from ..._nca._model import AbstractNCA
from ..._nca._perceive import ConvPerceive, KernelPerceive
from ..._nca._update import AliveMask, NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec, eval_with_steps
from ..._validation import (
    MAX_CHANNELS, MAX_HIDDEN, MAX_STEPS, check_choice, check_float, check_int,
)
from ._images import SIDE, as_grey, draw_digit, image_to_digit

NUM_CLASSES = 10
CLASS_COLOURS = np.array(
    [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]],
    dtype=np.uint8,
)
"""One colour per class (matplotlib's tab10), used by :meth:`SelfClassifyingMNIST.render`."""

FIXED_KERNELS = ("identity", "sobel", "laplacian")


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


CARD = CardSpec(
    task_type="image-classification", task_name="Image classification",
    dataset_type="ylecun/mnist", dataset_name="MNIST", dataset_split="test",
    datasets=("ylecun/mnist",), tags=("neural-cellular-automata", "self-classifying-mnist"),
    results=(
        CardResult("accuracy_by_step.100", "accuracy", "accuracy after 100 steps (majority vote)"),
        CardResult("accuracy_by_step.200", "accuracy", "accuracy after 200 steps (majority vote)"),
        CardResult("pixel_accuracy_by_step.100", "accuracy", "pixel agreement after 100 steps"),
        CardResult("pixel_accuracy_by_step.200", "accuracy", "per-cell accuracy after 200 steps"),
        CardResult("agreement_by_step.200", "accuracy", "total agreement after 200 steps (every live cell right)"),
    ),
    eval_command=eval_with_steps,
)
"""What the self-classifying MNIST model's cards declare (Hub ``model-index``, the eval command)."""


@register(
    "mnist_self_classify",
    description="Self-classifying MNIST digits: live pixels agree on the digit by local messages; majority vote",
    paper="Randazzo et al. 2020, Distill, 'Self-classifying MNIST Digits' (doi:10.23915/distill.00027.002)",
    tags=("neural", "2d", "classification", "mnist"),
    recipe="recipes.mnist_self_classify",
    evaluate=_evaluate,
    card=CARD,
)
class SelfClassifyingMNIST(AbstractNCA):
    """Self-classifying MNIST neural CA. State ``(28, 28, 1 + hidden + 10)`` float32.

    ``perception="learned"`` is the paper's learned 3x3 convolution (``hidden_units``
    filters + ReLU, :class:`~cax_zoo.nca.ConvPerceive`); ``"fixed"`` uses identity, Sobel
    and Laplacian filters per channel (:class:`~cax_zoo.nca.KernelPerceive`, 4 features
    per channel, cheaper). The per-cell MLP has ``mlp_depth`` hidden layers of
    ``hidden_units`` and a zero-initialised output layer. ``key`` initialises the
    parameters (required). ``residual_noise`` (default 0: none) is the standard deviation
    of the Gaussian noise added to every cell's update before the fire and living masks
    in every keyed step (the article's L2 model uses 0.02, in training and evaluation).
    """

    perceive: ConvPerceive | KernelPerceive
    update: NCAUpdate
    hidden_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    perception: str = eqx.field(static=True)
    mlp_depth: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_threshold: float = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    residual_noise: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

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
        residual_noise: float = 0.0,
        key: PRNGKeyArray | None = None,
    ):
        self.hidden_channels = check_int("hidden_channels", hidden_channels, minimum=0, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.mlp_depth = check_int("mlp_depth", mlp_depth, minimum=0, maximum=16)
        self.default_steps = check_int("default_steps", default_steps, minimum=1, maximum=MAX_STEPS)
        self.perception = check_choice("perception", perception, ("learned", "fixed"))
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.alive_threshold = check_float("alive_threshold", alive_threshold, minimum=0.0, maximum=1.0,
                                           open_maximum=True)
        self.residual_noise = check_float("residual_noise", residual_noise, minimum=0.0, maximum=1.0)
        key = require_key(key)
        self.num_spatial_dims = 2
        self.num_channels = c = 1 + self.hidden_channels + NUM_CLASSES
        kp, km = jax.random.split(key)
        if self.perception == "learned":
            self.perceive = ConvPerceive(num_spatial_dims=2, num_channels=c, num_features=self.hidden_units,
                                         boundary="zero", key=kp)
        else:
            self.perceive = KernelPerceive(FIXED_KERNELS, num_spatial_dims=2, num_channels=c, boundary="zero")
        sizes = [self.perceive.num_features] + [self.hidden_units] * self.mlp_depth + [c - 1]
        self.update = NCAUpdate(CellMLP(sizes, key=km), fire_rate=self.fire_rate, first_channel=1,
                                alive=AliveMask(0, self.alive_threshold, neighbourhood=False),
                                residual_noise=self.residual_noise)

    def config(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels, "hidden_units": self.hidden_units,
            "perception": self.perception, "mlp_depth": self.mlp_depth, "fire_rate": self.fire_rate,
            "alive_threshold": self.alive_threshold, "default_steps": self.default_steps,
            "residual_noise": self.residual_noise,
        }

    def cell_delta(self, patches: Float[Array, "*cells 9 C"]) -> Float[Array, "*cells C-1"]:
        """The update of the mutable channels of cells from their 3x3 neighbourhoods
        (before the residual noise, the fire rate and the alive mask): the rule on a list of cells."""
        return self.update.mlp(self.perceive.from_patches(patches))

    # ------------------------------------------------------------------ states
    def initial_state(self, images: Any) -> Float[Array, "*B 28 28 C"]:
        """States for digits ``images`` ``(28, 28)`` or ``(B, 28, 28)``: uint8 0-255 or
        float 0-1 grey levels (white digit on black, as MNIST); hidden and logits zero."""
        x = as_grey(images)
        state = np.zeros(x.shape + (self.num_channels,), np.float32)
        state[..., 0] = x
        return jnp.asarray(state)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """A digit drawn with Pillow's default font (no data needed): ``key`` picks the
        digit (default 3). ``size`` must be 28 (or None). ``batch_size`` gives that many
        states: random digits from ``key``, or 3s without one."""
        if size not in (None, SIDE, (SIDE, SIDE)):
            raise StateError(f"mnist_self_classify works on 28x28 digits, got size {size!r}")
        key = optional_key(key)
        if batch_size is None:
            digit = 3 if key is None else int(jax.random.randint(key, (), 0, 10))
            return self.initial_state(draw_digit(digit))
        n = check_int("batch_size", batch_size, minimum=1, maximum=1_000_000)
        digits = np.full(n, 3) if key is None else np.asarray(jax.random.randint(key, (n,), 0, 10))
        return self.initial_state(np.stack([draw_digit(int(d)) for d in digits]))

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
        the majority vote of the live cells after ``steps`` (default ``default_steps``).
        The cells fire at random: ``key`` draws them (default ``jax.random.PRNGKey(0)``,
        so a call is reproducible)."""
        state = self.initial_state(images)
        steps = self.default_steps if steps is None else check_int("steps", steps, minimum=0, maximum=MAX_STEPS)
        key = jax.random.PRNGKey(0) if key is None else optional_key(key)
        final = self.rollout(state, steps, key=key)
        return majority(self.votes(final))

    def cli_summary(self, state) -> str:
        """The line ``cax-zoo run`` prints: the predicted digit (majority vote of the live
        cells of ``state``, the last step) and the most common votes."""
        votes = self.votes(state)
        if votes.ndim != 2:
            raise StateError(f"cli_summary takes one unbatched state (28, 28, C), got shape {np.shape(state)}")
        counts = np.bincount(votes[votes >= 0].ravel(), minlength=NUM_CLASSES)
        digit = int(majority(votes))
        if digit < 0:
            return "predicted digit: none (no live cell)"
        top = ", ".join(f"{c}: {counts[c]}" for c in np.argsort(-counts, kind="stable")[:3] if counts[c])
        return f"predicted digit: {digit} (majority vote of {int(counts.sum())} live cells; votes {top})"

    def cli_legend(self, width: int) -> np.ndarray:
        """A strip ``(h, width, 3)`` uint8 naming each class colour of :meth:`render`: ten
        swatches, each with its digit (``cax-zoo run`` puts it under the picture)."""
        from PIL import Image, ImageDraw, ImageFont

        width = check_int("width", width, minimum=NUM_CLASSES, maximum=1 << 14)
        cell = width // NUM_CLASSES
        height = max(12, min(cell, 40))
        im = Image.new("RGB", (width, height), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        try:
            font = ImageFont.load_default(size=max(8, int(height * 0.7)))
        except TypeError:  # Pillow < 10.1
            font = ImageFont.load_default()
        x0 = (width - cell * NUM_CLASSES) // 2
        for c in range(NUM_CLASSES):
            colour = tuple(int(v) for v in CLASS_COLOURS[c])
            box = (x0 + c * cell + 1, 1, x0 + (c + 1) * cell - 2, height - 2)
            draw.rectangle(box, fill=colour)
            light = sum(w * v for w, v in zip((0.299, 0.587, 0.114), colour)) > 150
            draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), str(c), font=font, anchor="mm",
                      fill=(0, 0, 0) if light else (255, 255, 255))
        return np.asarray(im)

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
