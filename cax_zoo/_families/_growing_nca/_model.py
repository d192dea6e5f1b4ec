"""The growing NCA: a 16-channel NCA that grows an image from a single seed cell.

State ``(H, W, 16)`` float32: RGBA (premultiplied colour; alpha > 0.1 marks mature cells)
and 12 hidden channels. Perception: identity and two Sobel filters per channel (48
features); update: a 128-unit ReLU MLP with a zero-initialised output layer, applied with
fire rate 0.5; a cell with no mature cell in its 3x3 neighbourhood before and after the
update is set to zero (:class:`~cax_zoo.nca.NCAUpdate` with an :class:`~cax_zoo.nca.AliveMask`).
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
from ..._errors import ConfigError, StateError
from ..._nca._model import AbstractNCA, batch_states
from ..._nca._perceive import KernelPerceive
from ..._nca._update import AliveMask, NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec, plain_eval
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, check_float, check_int
from ._targets import regeneration_cut

ALPHA = 3
MAX_SIZE = 4096


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


def _release_evaluation(name: str):
    """The evaluation of the released model ``name``, on the target its release ships
    (``target.png``)."""

    def evaluate_release(model, **kw):
        from ..._weights import release_folder
        from ._evaluate import evaluate

        return evaluate(model, **{"release": release_folder(name), **kw})

    return evaluate_release



CARD = CardSpec(
    task_type="image-to-image", task_name="Growing and regenerating an image",
    dataset_type="emoji-lizard", dataset_name="Lizard emoji U+1F98E (Noto Color Emoji)",
    tags=("neural-cellular-automata", "growing-nca", "self-organisation"),
    results=(
        CardResult("loss", "mse", "RGBA MSE after growing from the seed"),
        CardResult("loss_after_damage", "mse", "RGBA MSE right after a cut"),
        CardResult("loss_after_regrow", "mse", "RGBA MSE after regrowing"),
    ),
    eval_command=plain_eval,  # the evaluation's defaults are the release's (default_steps, target.png)
)
"""What the growing NCA's model cards declare (Hub ``model-index``, the eval command)."""


@register(
    "growing_nca",
    description="Growing neural CA: grows a target RGBA image from one seed cell and regenerates it after damage",
    paper="Mordvintsev, Randazzo, Niklasson & Levin 2020, Distill, 'Growing Neural Cellular Automata' "
          "(doi:10.23915/distill.00023)",
    tags=("neural", "2d", "morphogenesis"),
    recipe="recipes.growing_nca",
    evaluate=_evaluate,
    card=CARD,
)
class GrowingNCA(AbstractNCA):
    """Growing NCA. State ``(H, W, num_channels)`` float32, RGBA first; ``size`` is the
    default grid side (target + padding); ``default_steps`` the growth time it was trained
    for (the evaluation's default: a recipe sets it to its longest training rollout).
    ``key`` initialises the MLP (required)."""

    perceive: KernelPerceive
    update: NCAUpdate
    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_threshold: float = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    size: int = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, *, num_channels: int = 16, hidden_units: int = 128, fire_rate: float = 0.5,
                 alive_threshold: float = 0.1, boundary: Boundary = "zero", size: int = 72,
                 default_steps: int = 96, key: PRNGKeyArray | None = None):
        self.num_channels = check_int("num_channels", num_channels, minimum=4, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.size = check_int("size", size, minimum=3, maximum=MAX_SIZE)
        self.default_steps = check_int("default_steps", default_steps, minimum=1, maximum=100_000)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.alive_threshold = check_float("alive_threshold", alive_threshold, minimum=0.0, maximum=1.0,
                                           open_maximum=True)
        self.boundary = check_boundary(boundary)
        key = require_key(key)
        self.num_spatial_dims = 2
        c = self.num_channels
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=2, num_channels=c,
                                       boundary=self.boundary)
        self.update = NCAUpdate(
            CellMLP([self.perceive.num_features, self.hidden_units, c], key=key),
            fire_rate=self.fire_rate,
            alive=AliveMask(ALPHA, self.alive_threshold, neighbourhood=True, boundary=self.boundary))

    def config(self) -> dict[str, Any]:
        return {"num_channels": self.num_channels, "hidden_units": self.hidden_units,
                "fire_rate": self.fire_rate, "alive_threshold": self.alive_threshold,
                "boundary": self.boundary, "size": self.size, "default_steps": self.default_steps}

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None,
                   batch_size: int | None = None) -> Float[Array, "*B H W C"]:
        """The single seed: every channel but RGB is 1 in the centre cell (``key`` unused);
        ``batch_size`` stacks that many copies."""
        h, w = self.spatial_shape(size, self.size)

        def seed(_):
            state = jnp.zeros((h, w, self.num_channels), jnp.float32)
            return state.at[h // 2, w // 2, ALPHA:].set(1.0)

        return batch_states(seed, batch_size, None)

    def cli_setup(self, *, size=None, key=None, image=None):
        if image is not None:
            raise ConfigError("growing_nca grows from a seed and takes no --image")
        return self.init_state(size, key=key), None

    def damage_state(self, state: Float[Array, "*B H W C"]) -> Float[Array, "*B H W C"]:
        """The cut used by :func:`evaluate` and ``cax-zoo run --damage-at``: a disc of
        radius ``size / 5`` centred on the left of the middle is zeroed."""
        return regeneration_cut(state)

    def render(self, state) -> np.ndarray:
        """RGBA over white: ``1 - alpha + rgb`` (colour is premultiplied), clipped."""
        return render_over_white(state)


def render_over_white(state: Any) -> np.ndarray:
    """One unbatched state ``(H, W, C)``, premultiplied RGBA first, drawn over white as
    uint8 RGB (:func:`to_rgb`)."""
    s = np.asarray(jax.device_get(state), np.float32)
    if s.ndim != 3:
        raise StateError(f"render takes one unbatched state (H, W, C), got shape {s.shape}")
    return (to_rgb(s) * 255 + 0.5).astype(np.uint8)


def to_rgb(state: Any) -> Any:
    """The paper's rendering: premultiplied RGB over white, in [0, 1]."""
    xp = jnp if isinstance(state, jax.Array) else np
    a = xp.clip(state[..., ALPHA : ALPHA + 1], 0.0, 1.0)
    return xp.clip(1.0 - a + state[..., :3], 0.0, 1.0)


@register("growing_nca/lizard", description="Growing NCA trained to grow and regenerate the lizard emoji",
          tags=("neural", "2d", "morphogenesis", "pretrained"),
          paper="Mordvintsev et al. 2020, Distill, 'Growing Neural Cellular Automata'",
          recipe="recipes.growing_nca", evaluate=_release_evaluation("growing_nca/lizard"))
def lizard(**config) -> GrowingNCA:
    """The lizard (U+1F98E) regenerating model's architecture (weights from weights/)."""
    return GrowingNCA(**config)


@register("growing_nca/lizard_persistent",
          description="Growing NCA trained to grow the lizard emoji and keep it (a pool, no damage)",
          tags=("neural", "2d", "morphogenesis"),
          paper="Mordvintsev et al. 2020, Distill, 'Growing Neural Cellular Automata' (the persistent experiment)",
          recipe="recipes.growing_nca_persistent", evaluate=_release_evaluation("growing_nca/lizard_persistent"))
def lizard_persistent(**config) -> GrowingNCA:
    """The lizard (U+1F98E) persistent model's architecture (weights from weights/)."""
    return GrowingNCA(**config)


def _evaluate_lizard_es(model, **kw):
    """The ES lizard's evaluation: :func:`_evaluate` on the ``target.png`` its release
    ships, at the target size and padding that file records."""
    from ..._weights import release_folder
    from ._evaluate import evaluate
    from ._targets import TARGET_FILE, read_target_png

    folder = release_folder("growing_nca/lizard_es")
    about = read_target_png(folder / TARGET_FILE)[1] if (folder / TARGET_FILE).is_file() else {}
    sizes = {k: about[k] for k in ("target_size", "padding") if isinstance(about.get(k), int)}
    return evaluate(model, **{"release": folder, **sizes, **kw})


@register("growing_nca/lizard_es", description="Growing NCA trained by an evolution strategy (no gradients) "
          "to grow the lizard emoji", tags=("neural", "2d", "morphogenesis", "pretrained", "evolution-strategy"),
          paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (growing NCA by OpenAI-ES)",
          recipe="recipes.growing_nca_es", evaluate=_evaluate_lizard_es)
def lizard_es(**config) -> GrowingNCA:
    """The ES-trained lizard (U+1F98E) model's architecture (weights from weights/)."""
    return GrowingNCA(**config)
