"""The self-autoencoding MNIST NCA: a 3-D neural CA that carries a digit written on one
face of its grid to the opposite face, through a wall with one small hole (CAX: a single cell).

State ``(H, W, D, C)`` float32 with ``H = W = image_size``: the digit (grey, 0-1) is the
last channel of the face ``z = 0``, and that channel is what the far face ``z = D - 1``
must reproduce. Every step is CAX's: perceive (identity + 3 Sobel gradients per channel,
``cax_zoo.nca.KernelPerceive``), NCA
update (residual ReLU MLP with a zero-initialised output layer, each cell firing with
probability ``fire_rate`` = CAX's cell dropout, and CAX's alive mask on the last
channel), then the wall: the middle slice ``z = D // 2`` is zeroed except its centre cell
``(H // 2, W // 2)`` (CAX's; ``hole = k`` opens the centred ``k x k`` block instead), and
the digit is written back on the face ``z = 0``. Everything must pass through the hole.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, optional_key, require_key
from ..._boundary import Boundary, check_boundary
from ..._errors import StateError
from ..._nca._model import AbstractNCA
from ..._nca._perceive import KernelPerceive
from ..._nca._update import AbstractUpdate, AliveMask, NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, MAX_STEPS, check_bool, check_float, check_int
from .._mnist_self_classify._images import as_grey, draw_digit, image_to_digit

MAX_IMAGE_SIZE = 112
MAX_DEPTH = 512
ALIVE_THRESHOLD = 0.1  # CAX's NCAUpdate: a cell lives if its 3^3 neighbourhood's last channel exceeds it
WALL_RGB = (96, 24, 24)  # the wall's blocked cells in render (dark red; their value is always 0)
SEPARATOR_RGB = (70, 130, 180)  # the 1-px lines between the panels of render


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


def resize_digits(images: Float[Array, "*B 28 28"], image_size: int) -> Float[Array, "*B S S"]:
    """Grey digits ``(..., 28, 28)`` in [0, 1] resized to ``image_size`` (bilinear, with
    antialiasing when smaller), clipped to [0, 1]; unchanged at 28."""
    x = jnp.asarray(images, jnp.float32)
    if x.shape[-2:] == (image_size, image_size):
        return x
    out = jax.image.resize(x, x.shape[:-2] + (image_size, image_size), method="linear", antialias=True)
    return jnp.clip(out, 0.0, 1.0)


def hole_rows(side: int, hole: int) -> slice:
    """The rows (or columns) of the wall's hole on a side of ``side`` cells: the ``hole``
    cells centred on ``side // 2`` (for ``hole = 1``, just ``side // 2``, CAX's)."""
    start = side // 2 - hole // 2
    return slice(start, start + hole)


def through_wall(state: Float[Array, "H W D C"], hole: int = 1) -> Float[Array, "H W D C"]:
    """``state`` with its middle slice ``z = D // 2`` zeroed (every channel) except the
    ``hole x hole`` block centred on ``(H // 2, W // 2)``: the wall and its hole (CAX's:
    ``hole = 1``, the centre cell alone)."""
    h, w, d = state.shape[:3]
    rows, cols = hole_rows(h, hole), hole_rows(w, hole)
    kept = state[rows, cols, d // 2]
    return state.at[:, :, d // 2].set(0.0).at[rows, cols, d // 2].set(kept)


class WallUpdate(AbstractUpdate):
    """The NCA update (``nca``) followed by the wall (:func:`through_wall`, with a
    ``hole x hole`` opening) and the digit clamp: the last channel of the face ``z = 0``
    keeps its value from before the step (the digit is re-imposed after every step, as CAX
    does)."""

    nca: NCAUpdate
    hole: int = eqx.field(static=True, default=1)

    def __call__(self, state, features, input=None, *, key=None):
        new = through_wall(self.nca(state, features, input, key=key), self.hole)
        return new.at[:, :, 0, -1].set(state[:, :, 0, -1])


def _test_set_eval(name: str, metrics) -> str:
    """``cax-zoo eval NAME`` for cards that carry its test-set figures (``mse``); none for a
    card with only the recipe's validation figures."""
    return f"cax-zoo eval {name}" if "mse" in metrics else ""


CARD = CardSpec(
    task_type="image-to-image", task_name="Image reconstruction",
    dataset_type="ylecun/mnist", dataset_name="MNIST", dataset_split="test",
    datasets=("ylecun/mnist",), tags=("neural-cellular-automata", "self-autoencoding-mnist"),
    results=(
        CardResult("mse", "mse", "far-face MSE to the digit"),
        CardResult("classifier_accuracy", "accuracy", "mnist_self_classify accuracy on the reconstructions"),
    ),
    eval_command=_test_set_eval,
)
"""What the self-autoencoding MNIST cards declare (Hub ``model-index``, the eval command)."""


@register(
    "self_autoencoding_mnist",
    description="Self-autoencoding MNIST: a 3-D neural CA carries a digit from one face of its grid to the "
                "other, through a wall with a single open cell",
    paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
          "self-autoencoding MNIST",
    tags=("neural", "3d", "autoencoding", "mnist"),
    recipe="recipes.self_autoencoding_mnist",
    evaluate=_evaluate,
    card=CARD,
)
class SelfAutoencodingMNIST(AbstractNCA):
    """Self-autoencoding MNIST NCA. State ``(image_size, image_size, depth, num_channels)``
    float32; the digit is the last channel of the face ``z = 0``, its reconstruction the
    last channel of the face ``z = depth - 1``.

    ``image_size``: the side digits are resized to (28: MNIST's own); ``steps``: the number
    of steps it was trained for (the default of :func:`~cax_zoo.self_autoencoding_mnist.evaluate`);
    ``alive_mask``: CAX's alive mask (a cell whose 3^3 neighbourhood has last channel
    <= 0.1 before or after the update is zeroed); ``hole``: the side of the wall's square
    opening (CAX's: 1, the centre cell). ``key`` initialises the MLP (required).
    Defaults are CAX's notebook (28x28x42, 16 channels, hidden 256, 96 steps, one open cell).
    """

    perceive: KernelPerceive
    update: WallUpdate
    image_size: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_mask: bool = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    hole: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, *, image_size: int = 28, depth: int = 42, num_channels: int = 16,
                 hidden_units: int = 256, fire_rate: float = 0.5, alive_mask: bool = True, steps: int = 96,
                 hole: int = 1, boundary: Boundary = "zero", key: PRNGKeyArray | None = None):
        self.image_size = check_int("image_size", image_size, minimum=3, maximum=MAX_IMAGE_SIZE)
        self.depth = check_int("depth", depth, minimum=3, maximum=MAX_DEPTH)
        self.num_channels = check_int("num_channels", num_channels, minimum=2, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.alive_mask = check_bool("alive_mask", alive_mask)
        self.steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
        self.hole = check_int("hole", hole, minimum=1, maximum=self.image_size)
        self.boundary = check_boundary(boundary)
        key = require_key(key)
        self.num_spatial_dims = 3
        c = self.num_channels
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=3, num_channels=c,
                                       boundary=self.boundary)
        alive = (AliveMask(c - 1, ALIVE_THRESHOLD, neighbourhood=True, boundary=self.boundary)
                 if self.alive_mask else None)
        mlp = CellMLP([self.perceive.num_features, self.hidden_units, c], key=key)
        self.update = WallUpdate(NCAUpdate(mlp, fire_rate=self.fire_rate, alive=alive), hole=self.hole)

    def config(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "depth": self.depth, "num_channels": self.num_channels,
                "hidden_units": self.hidden_units, "fire_rate": self.fire_rate, "alive_mask": self.alive_mask,
                "steps": self.steps, "hole": self.hole, "boundary": self.boundary}

    def working_bytes_per_cell(self) -> int:
        # the state, the 4C perception features and the hidden layer of every cell
        return 4 * (4 * self.num_channels + 4 * self.num_channels + self.hidden_units)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """``(image_size, image_size, depth)``."""
        return (self.image_size, self.image_size, self.depth)

    # ------------------------------------------------------------------ states
    def digits(self, images: Any) -> Float[Array, "*B S S"]:
        """Digits ``(28, 28)`` or ``(B, 28, 28)`` (uint8 0-255 or float 0-1, white on
        black as MNIST) as float32 grey levels at the model's resolution ``image_size``
        (see :func:`resize_digits`)."""
        return resize_digits(as_grey(images), self.image_size)

    def initial_state(self, images: Any) -> Float[Array, "*B S S D C"]:
        """States for digits ``images`` ``(28, 28)`` or ``(B, 28, 28)`` (uint8 0-255 or float
        0-1): zeros, with the digit (resized to ``image_size``) in the last channel of the
        face ``z = 0``."""
        x = as_grey(images)
        self.spatial_shape(self.grid_shape, self.image_size, batch=x.shape[0] if x.ndim == 3 else 1)
        x = resize_digits(x, self.image_size)
        state = jnp.zeros(x.shape + (self.depth, self.num_channels), jnp.float32)
        return state.at[..., 0, -1].set(x)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """A digit drawn with Pillow's default font (no data needed; ``key`` picks which,
        default 3), as :meth:`initial_state` places it; ``batch_size`` gives that many
        (random digits from ``key``, or 3s without one). ``size`` must be the model's
        grid, ``(image_size, image_size, depth)``, or None."""
        if size is not None and self._as_grid(size) != self.grid_shape:
            raise StateError(f"self_autoencoding_mnist runs on its {self.image_size}x{self.image_size}x{self.depth} "
                             f"grid (the size it was trained on), got size {size!r}")
        key = optional_key(key)
        if batch_size is None:
            digit = 3 if key is None else int(jax.random.randint(key, (), 0, 10))
            return self.initial_state(draw_digit(digit))
        n = check_int("batch_size", batch_size, minimum=1, maximum=1_000_000)
        labels = np.full(n, 3) if key is None else np.asarray(jax.random.randint(key, (n,), 0, 10))
        return self.initial_state(np.stack([draw_digit(int(d)) for d in labels]))

    @staticmethod
    def _as_grid(size) -> tuple[int, ...] | None:
        if isinstance(size, (list, tuple)) and all(isinstance(s, int) and not isinstance(s, bool) for s in size):
            return tuple(size)
        return None

    def cli_setup(self, *, size=None, key=None, image=None):
        """``(state, None)`` for ``cax-zoo run``: ``image`` (any grey or RGB(A) uint8 picture
        of a digit) made into an MNIST-style 28x28 digit (see
        :func:`cax_zoo.mnist.image_to_digit`) and placed on the face ``z = 0``; without one a
        drawn digit (``key`` picks it)."""
        if image is None:
            return self.init_state(size, key=key), None
        if size is not None:
            self.init_state(size)  # the size check, with its message
        return self.initial_state(image_to_digit(image)), None

    def check_state(self, state) -> int:
        n = super().check_state(state)
        if tuple(state.shape[-4:-1]) != self.grid_shape:
            raise StateError(f"self_autoencoding_mnist expects states of shape (..., {self.image_size}, "
                             f"{self.image_size}, {self.depth}, {self.num_channels}), got {tuple(state.shape)}")
        return n

    # ------------------------------------------------------------------ reading out
    def reconstruction(self, state: Float[Array, "*B S S D C"]) -> Float[Array, "*B S S"]:
        """The far face's last channel (the reconstructed digit, unclipped)."""
        return jnp.asarray(state)[..., -1, -1]

    def cli_summary(self, state) -> str:
        """The line ``cax-zoo run`` prints: the far face's mean squared error to the digit
        on the face ``z = 0``."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 4:
            raise StateError(f"cli_summary takes one unbatched state (H, W, D, C), got shape {s.shape}")
        mse = float(np.mean((s[:, :, -1, -1] - s[:, :, 0, -1]) ** 2))
        return f"far-face MSE to the input digit: {mse:.5f}"

    def render(self, state) -> np.ndarray:
        """Three greyscale panels side by side, 1-px separators between them: the input face
        ``z = 0``, the vertical slice ``x = W // 2`` through the centre (rows y, columns z from
        0 to D - 1; the wall's blocked cells in dark red, its hole around ``y = H // 2``) and the
        far face ``z = D - 1``; each the last channel clipped to [0, 1]. ``(H, 2W + D + 2, 3)``
        uint8."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 4:
            raise StateError(f"render takes one unbatched state (H, W, D, C), got shape {s.shape}")
        h, w, d = s.shape[:3]

        def grey(a):
            return np.repeat((np.clip(a, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=-1)

        sl = grey(s[:, w // 2, :, -1])
        blocked = np.ones(h, bool)
        blocked[hole_rows(h, self.hole)] = False
        sl[blocked, d // 2] = WALL_RGB
        line = np.broadcast_to(np.asarray(SEPARATOR_RGB, np.uint8), (h, 1, 3))
        return np.concatenate([grey(s[:, :, 0, -1]), line, sl, line, grey(s[:, :, -1, -1])], axis=1)
