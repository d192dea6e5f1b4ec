"""The growing conditional NCA (CAX): one NCA that grows any of its targets from the same
seed, the target chosen by a label (a one-hot vector) given to every step as input.

State ``(H, W, C)`` float32, as the growing NCA's: RGBA first (premultiplied colour;
alpha > 0.1 marks mature cells), then ``C - 4`` hidden channels. Perception: identity and
two Sobel filters per channel; update: a ReLU MLP over those features *and the label*
(appended to every cell's features by :func:`~cax_zoo.nca.with_input`) with a
zero-initialised output layer, applied with fire rate 0.5 and the growing NCA's alive
mask. The targets (one per label) are part of the model (``targets``, not trained), with
their names and emoji as static config, so a loaded release needs no emoji font.
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, require_key
from ..._boundary import Boundary, check_boundary
from ..._errors import ConfigError, DataError, StateError
from ..._nca._model import AbstractNCA, batch_states
from ..._nca._perceive import KernelPerceive
from ..._nca._update import AbstractUpdate, AliveMask, NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec, plain_eval
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, check_float, check_int, check_str
from .._growing_nca._model import ALPHA, render_over_white
from .._growing_nca._targets import emoji_target, regeneration_cut

MAX_SIZE = 1024
MAX_LABELS = 256
RGBA = 4
ANIMALS = ("\U0001F436", "\U0001F431", "\U0001F42D", "\U0001F439", "\U0001F430", "\U0001F98A", "\U0001F43B",
           "\U0001F43C")
"""CAX's eight animal emoji, in its order: 🐶🐱🐭🐹🐰🦊🐻🐼."""
ANIMAL_NAMES = ("dog", "cat", "mouse", "hamster", "rabbit", "fox", "bear", "panda")


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


def animal_targets(emojis: tuple[str, ...] = ANIMALS, *, size: int = 40, padding: int = 16,
                   font: Any = None) -> np.ndarray:
    """The targets ``(len(emojis), size + 2 padding, size + 2 padding, 4)`` float32
    premultiplied RGBA: each emoji rendered as the growing NCA's :func:`emoji_target`
    (needs the Noto Color Emoji font; a missing font is a one-line DataError)."""
    return np.stack([emoji_target(e, size=size, padding=padding, font=font) for e in emojis])


class LabelledUpdate(AbstractUpdate):
    """The NCA update (``nca``) driven by a label ``(num_labels,)`` (or one per cell,
    ``(H, W, num_labels)``); without an input it grows label ``0`` (the first target)."""

    nca: NCAUpdate
    num_labels: int = eqx.field(static=True)

    def __call__(self, state, features, input=None, *, key=None):
        if input is None:
            input = jax.nn.one_hot(0, self.num_labels, dtype=features.dtype)
        shape = tuple(jnp.shape(input))
        if not shape or shape[-1] != self.num_labels:
            n = self.num_labels
            raise StateError(f"a conditional NCA's input is a label of shape ({n},), or one per state of a batch, "
                             f"(batch, {n}), got {shape} (a batch of {n} states takes a shared label as "
                             f"jnp.broadcast_to(label, ({n}, {n})))")
        return self.nca(state, features, input, key=key)


CARD = CardSpec(
    task_type="image-to-image", task_name="Growing one of several images, chosen by a label",
    dataset_type="emoji-animals", dataset_name="Eight animal emoji (Noto Color Emoji)",
    tags=("neural-cellular-automata", "growing-nca", "conditional-nca", "self-organisation"),
    results=(
        CardResult("mse_mean", "mse", "RGBA MSE after growing, mean over the targets"),
        CardResult("mse_max", "mse", "RGBA MSE after growing, worst target"),
    ),
    eval_command=plain_eval,  # the evaluation's defaults are the release's (model.steps, model.targets)
)
"""What the conditional NCA's model cards declare (Hub ``model-index``, the eval command)."""


def _check_labels(names: Any, emojis: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    for what, v in (("names", names), ("emojis", emojis)):
        if isinstance(v, str) or not isinstance(v, (list, tuple)) or not 1 <= len(v) <= MAX_LABELS:
            raise ConfigError(f"{what} must be a list of 1 to {MAX_LABELS} strings, got {v!r}"[:300])
    names = tuple(check_str(f"names[{i}]", n, max_length=64) for i, n in enumerate(names))
    emojis = tuple(check_str(f"emojis[{i}]", e, max_length=64) for i, e in enumerate(emojis))
    if len(emojis) != len(names):
        raise ConfigError(f"names and emojis must have the same length, got {len(names)} and {len(emojis)}")
    bad = [n for n in names if not n or n.isdigit() or not n.isprintable() or n != n.strip()]
    if bad:
        raise ConfigError(f"a target name must be a non-empty printable word, not a number, got {bad[0]!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"target names must be distinct, got {list(names)}")
    return names, emojis


@register(
    "conditional_nca",
    description="Growing conditional neural CA: one NCA grows any of its target images from the same seed, "
                "chosen by a one-hot label given as input to every step",
    paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
          "growing conditional NCA",
    tags=("neural", "2d", "morphogenesis", "conditional"),
    recipe="recipes.conditional_nca",
    evaluate=_evaluate,
    card=CARD,
)
class ConditionalNCA(AbstractNCA):
    """Growing conditional NCA. State ``(H, W, num_channels)`` float32, RGBA first;
    ``size`` is the grid side (target + padding), ``steps`` the growth time it was trained
    for (the evaluation's default). ``names`` / ``emojis`` name the targets (label ``i`` is
    ``names[i]``); ``targets`` ``(len(names), size, size, 4)`` premultiplied RGBA (zeros:
    none yet; the recipe sets them). ``key`` initialises the MLP (required)."""

    perceive: KernelPerceive
    update: LabelledUpdate
    targets: Float[Array, "L H W 4"]
    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    alive_threshold: float = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    size: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)
    emojis: tuple[str, ...] = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    # the `cax-zoo run` options beyond --size/--seed/--image that cli_setup takes (as keywords)
    cli_options: ClassVar[tuple[str, ...]] = ("target",)

    def __init__(self, *, num_channels: int = 32, hidden_units: int = 256, fire_rate: float = 0.5,
                 alive_threshold: float = 0.1, boundary: Boundary = "zero", size: int = 72, steps: int = 64,
                 names: Any = ANIMAL_NAMES, emojis: Any = ANIMALS, targets: Any = None,
                 key: PRNGKeyArray | None = None):
        self.num_channels = check_int("num_channels", num_channels, minimum=RGBA + 1, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.size = check_int("size", size, minimum=3, maximum=MAX_SIZE)
        self.steps = check_int("steps", steps, minimum=1, maximum=100_000)
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.alive_threshold = check_float("alive_threshold", alive_threshold, minimum=0.0, maximum=1.0,
                                           open_maximum=True)
        self.boundary = check_boundary(boundary)
        self.names, self.emojis = _check_labels(names, emojis)
        n = len(self.names)
        shape = (n, self.size, self.size, RGBA)
        if targets is None:
            targets = np.zeros(shape, np.float32)
        targets = np.asarray(targets, np.float32)
        if targets.shape != shape:
            raise DataError(f"targets must have shape {shape} for {n} names and size={self.size}, "
                            f"got {targets.shape}")
        if not np.all(np.isfinite(targets)) or targets.min() < 0 or targets.max() > 1:
            raise DataError("target values must be finite and in [0, 1]")
        key = require_key(key)
        self.num_spatial_dims = 2
        self.targets = jnp.asarray(targets)
        c = self.num_channels
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=2, num_channels=c,
                                       boundary=self.boundary)
        nca = NCAUpdate(CellMLP([self.perceive.num_features + n, self.hidden_units, c], key=key),
                        fire_rate=self.fire_rate,
                        alive=AliveMask(ALPHA, self.alive_threshold, neighbourhood=True, boundary=self.boundary))
        self.update = LabelledUpdate(nca, n)

    def config(self) -> dict[str, Any]:
        return {"num_channels": self.num_channels, "hidden_units": self.hidden_units,
                "fire_rate": self.fire_rate, "alive_threshold": self.alive_threshold,
                "boundary": self.boundary, "size": self.size, "steps": self.steps,
                "names": list(self.names), "emojis": list(self.emojis)}

    @property
    def num_labels(self) -> int:
        return len(self.names)

    def has_targets(self) -> bool:
        """Whether every target was set (a fresh model's are all zeros)."""
        return bool(jnp.all(jnp.any(self.targets > 0, axis=(1, 2, 3))))

    def label_index(self, label: int | str) -> int:
        """The index of ``label``: an index, a name (``"fox"``), its emoji or a decimal
        string (``"5"``, as the command line gives it)."""
        n = self.num_labels
        if isinstance(label, str):
            if label in self.names:
                return self.names.index(label)
            if label in self.emojis:
                return self.emojis.index(label)
            if not label.strip().isdigit():
                raise ConfigError(f"unknown target {label!r}; choose one of {', '.join(self.names)} "
                                  f"or an index 0-{n - 1}")
            label = int(label)
        if isinstance(label, (bool, float)) or not isinstance(label, (int, np.integer)) or not 0 <= label < n:
            raise ConfigError(f"a target label is a name ({', '.join(self.names)}) or an index 0-{n - 1}, "
                              f"got {label!r}")
        return int(label)

    def label(self, label: int | str) -> Float[Array, " L"]:
        """The one-hot label ``(num_labels,)`` of a target (index or name, see :meth:`label_index`)."""
        return jax.nn.one_hot(self.label_index(label), self.num_labels, dtype=jnp.float32)

    def interpolate(self, a: int | str, b: int | str, alpha: float) -> Float[Array, " L"]:
        """``(1 - alpha) label(a) + alpha label(b)``: CAX's interpolation between two
        targets in label space (``alpha`` in [0, 1])."""
        alpha = check_float("alpha", alpha, minimum=0.0, maximum=1.0)
        return (1.0 - alpha) * self.label(a) + alpha * self.label(b)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None,
                   batch_size: int | None = None) -> Float[Array, "*B H W C"]:
        """The growing NCA's seed: every channel but RGB is 1 in the centre cell (``key``
        unused); ``batch_size`` stacks that many copies. The label is the rollout's input."""
        h, w = self.spatial_shape(size, self.size)

        def seed(_):
            state = jnp.zeros((h, w, self.num_channels), jnp.float32)
            return state.at[h // 2, w // 2, ALPHA:].set(1.0)

        return batch_states(seed, batch_size, None)

    def cli_setup(self, *, size=None, key=None, image=None, target=None):
        """``cax-zoo run``: the seed and the label of ``--target`` (a name or an index;
        default the first target)."""
        if image is not None:
            raise ConfigError("conditional_nca grows from a seed and takes no --image; choose the target "
                              f"with --target ({', '.join(self.names)})")
        return self.init_state(size, key=key), self.label(0 if target is None else target)

    def damage_state(self, state: Float[Array, "*B H W C"]) -> Float[Array, "*B H W C"]:
        """The growing NCA's cut: a disc of radius ``size / 5`` left of the centre zeroed."""
        return regeneration_cut(state)

    def render(self, state) -> np.ndarray:
        """RGBA over white (premultiplied colour), clipped."""
        return render_over_white(state)


@register("conditional_nca/animals",
          description="Conditional NCA trained to grow any of eight animal emoji from one seed, chosen by a label",
          tags=("neural", "2d", "morphogenesis", "conditional", "pretrained"),
          paper="Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651)",
          recipe="recipes.conditional_nca", evaluate=_evaluate, card=CARD)
def animals(**config) -> ConditionalNCA:
    """The eight-animal model's architecture (🐶🐱🐭🐹🐰🦊🐻🐼; weights and targets from weights/)."""
    return ConditionalNCA(**config)
