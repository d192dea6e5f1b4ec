"""The diffusing NCA: an NCA that starts from a noisy image (pure noise at the limit) and
must turn it into its target.

State ``(H, W, C)`` float32: RGBA first (premultiplied colour, as the growing NCA), then
``C - 4`` hidden channels that start at zero. Perception: identity and two Sobel filters
per channel; update: a ReLU MLP with a zero-initialised output layer, applied with fire
rate 0.5 (CAX's cell dropout) and no alive mask: every cell takes part, since noise has no
seed. The target is part of the model (``target``, not trained), so a loaded model can
be run and evaluated with nothing else.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, require_key
from ..._boundary import Boundary, check_boundary
from ..._errors import ConfigError, DataError
from ..._nca._model import AbstractNCA, batch_states
from ..._nca._perceive import KernelPerceive
from ..._nca._update import NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec, plain_eval
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, check_float, check_int
from .._growing_nca._model import render_over_white
from .._growing_nca._targets import regeneration_cut

MAX_SIZE = 1024
RGBA = 4


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


def add_noise(image: Float[Array, "*B H W 4"], noise: Float[Array, "*B"] | float,
              key: PRNGKeyArray) -> Float[Array, "*B H W 4"]:
    """CAX's corruption: ``clip((1 - noise) image + noise N(0, 1), 0, 1)``; ``noise`` 1 is
    pure (clipped) Gaussian noise, 0 the image itself."""
    a = jnp.asarray(noise, jnp.float32).reshape(jnp.shape(noise) + (1, 1, 1))
    return jnp.clip((1.0 - a) * image + a * jax.random.normal(key, image.shape), 0.0, 1.0)


CARD = CardSpec(
    task_type="image-to-image", task_name="Turning noise into an image",
    dataset_type="emoji-lizard", dataset_name="Lizard emoji U+1F98E (Noto Color Emoji)",
    tags=("neural-cellular-automata", "diffusing-nca", "denoising", "self-organisation"),
    results=(
        CardResult("mse_from_noise", "mse", "RGBA MSE after denoising pure noise"),
        CardResult("mse_after_damage", "mse", "RGBA MSE right after a cut"),
        CardResult("mse_after_regrow", "mse", "RGBA MSE after regrowing"),
    ),
    eval_command=plain_eval,  # the evaluation's defaults are the release's (model.steps, model.target)
)
"""What the diffusing NCA's model cards declare (Hub ``model-index``, the eval command)."""


@register(
    "diffusing_nca",
    description="Diffusing neural CA: turns Gaussian noise into its target RGBA image, like a diffusion "
                "model's denoiser, and regrows it after damage",
    paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
          "diffusing NCA",
    tags=("neural", "2d", "morphogenesis", "denoising"),
    recipe="recipes.diffusing_nca",
    evaluate=_evaluate,
    card=CARD,
)
class DiffusingNCA(AbstractNCA):
    """Diffusing NCA. State ``(H, W, num_channels)`` float32, RGBA first; ``size`` is the
    grid side, ``steps`` the number of steps it was trained to denoise in (the default of
    :func:`~cax_zoo.diffusing_nca.evaluate`). ``target`` ``(size, size, 4)`` premultiplied
    RGBA (zeros: none yet; the recipe sets it). ``key`` initialises the MLP (required)."""

    perceive: KernelPerceive
    update: NCAUpdate
    target: Float[Array, "H W 4"]
    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    size: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, *, num_channels: int = 64, hidden_units: int = 256, fire_rate: float = 0.5,
                 boundary: Boundary = "zero", size: int = 72, steps: int = 64,
                 target: Any = None, key: PRNGKeyArray | None = None):
        self.num_channels = check_int("num_channels", num_channels, minimum=RGBA + 1, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.size = check_int("size", size, minimum=3, maximum=MAX_SIZE)
        self.steps = check_int("steps", steps, minimum=1, maximum=100_000)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.boundary = check_boundary(boundary)
        if target is None:
            target = np.zeros((self.size, self.size, RGBA), np.float32)
        target = np.asarray(target, np.float32)
        if target.shape != (self.size, self.size, RGBA):
            raise DataError(f"target must have shape ({self.size}, {self.size}, 4) for size={self.size}, "
                            f"got {target.shape}")
        if not np.all(np.isfinite(target)) or target.min() < 0 or target.max() > 1:
            raise DataError("target values must be finite and in [0, 1]")
        key = require_key(key)
        self.num_spatial_dims = 2
        self.target = jnp.asarray(target)
        c = self.num_channels
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=2, num_channels=c,
                                       boundary=self.boundary)
        self.update = NCAUpdate(CellMLP([self.perceive.num_features, self.hidden_units, c], key=key),
                                fire_rate=self.fire_rate)

    def config(self) -> dict[str, Any]:
        return {"num_channels": self.num_channels, "hidden_units": self.hidden_units,
                "fire_rate": self.fire_rate, "boundary": self.boundary, "size": self.size,
                "steps": self.steps}

    def has_target(self) -> bool:
        """Whether a target was set (a fresh model's is all zeros)."""
        return bool(jnp.any(self.target > 0))

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None,
                   noise: float = 1.0) -> Float[Array, "*B H W C"]:
        """The target corrupted by :func:`add_noise` at level ``noise`` (default 1: pure
        noise, where the target plays no part), hidden channels zero; one draw per state of
        the batch; ``key=None`` uses ``PRNGKey(0)``, as the classic families' soups do."""
        noise = check_float("noise", noise, minimum=0.0, maximum=1.0)
        key = jax.random.PRNGKey(0) if key is None else key
        h, w = self.spatial_shape(size, self.size)
        if noise < 1.0 and (h, w) != (self.size, self.size):
            raise ConfigError(f"noise < 1 corrupts the {self.size}x{self.size} target; size must be {self.size}")
        image = self.target if (h, w) == (self.size, self.size) else jnp.zeros((h, w, RGBA), jnp.float32)

        def one(k):
            rgba = add_noise(image, noise, k)
            return jnp.concatenate([rgba, jnp.zeros((h, w, self.num_channels - RGBA), jnp.float32)], axis=-1)

        return batch_states(one, batch_size, key)

    def cli_setup(self, *, size=None, key=None, image=None):
        if image is not None:
            raise ConfigError("diffusing_nca starts from noise and takes no --image")
        return self.init_state(size, key=key), None

    def damage_state(self, state: Float[Array, "*B H W C"]) -> Float[Array, "*B H W C"]:
        """The growing NCA's cut: a disc of radius ``size / 5`` left of the centre zeroed."""
        return regeneration_cut(state)

    def render(self, state) -> np.ndarray:
        """RGBA over white (premultiplied colour), clipped."""
        return render_over_white(state)


@register("diffusing_nca/lizard", description="Diffusing NCA trained to turn noise into the lizard emoji",
          tags=("neural", "2d", "morphogenesis", "denoising", "pretrained"),
          paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651)",
          recipe="recipes.diffusing_nca", evaluate=_evaluate, card=CARD)
def lizard(**config) -> DiffusingNCA:
    """The lizard (U+1F98E) diffusing model's architecture (weights and target from weights/)."""
    return DiffusingNCA(**config)
