"""The 1D-ARC neural CA.

Each task of 1D-ARC (Xu et al. 2023) gives three demonstration pairs (input row -> output
row, same length) and a test input. A cell of the NCA holds the one-hot colour of the input
(10 channels, fixed), a validity mask (1 channel, fixed: 0 on padding) and ``hidden``
channels whose first 10 are the logits of the output colour. Perception
(:class:`RowPerceive`): a window of ``2 * radius + 1`` cells (and optionally the cells at
the distances in ``far``, with ``pooled`` the mean state of the row's real cells, the
same for every cell, with ``segment_pooled`` the mean state of the cell's run of one
input colour and its two bounding cells, and with ``context_decays`` the row to the cell's
left and to its right summed with weights that decay with distance) through a dense layer
+ ReLU; update: a zero-initialised linear layer
added to the hidden channels of real cells (:class:`~cax_zoo.nca.NCAUpdate` from channel
11, every cell firing, alive = the mask). It runs ``default_steps`` steps from zero hidden
channels. ``ttt_*`` are the model's preferred test-time-training settings (:func:`solve`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._blocks._nca import CellMLP, require_key
from ..._data._arc1d import NUM_COLOURS
from ..._errors import ConfigError, StateError
from ..._nca._model import AbstractNCA
from ..._nca._perceive import AbstractPerceive
from ..._nca._update import AliveMask, NCAUpdate
from ..._registry import register
from ..._training._card import CardResult, CardSpec, plain_eval
from ..._validation import (
    MAX_CHANNELS, MAX_HIDDEN, check_bool, check_choice, check_float, check_float_tuple, check_int,
    check_int_tuple,
)
from ._colour import ColourRowPerceive, ColourUpdate, colour_sizes
from ._random_rows import random_block_rows
from ._views import FIXED, num_views, row_views

MAX_RADIUS = 64
TTT_ADAPT = ("all", "bias")

ARC_COLOURS = np.array(
    [[0, 0, 0], [0, 116, 217], [255, 65, 54], [46, 204, 64], [255, 220, 0], [170, 170, 170],
     [240, 18, 190], [255, 133, 27], [127, 219, 255], [135, 12, 37]], np.uint8)
"""ARC's colour palette for colours 0-9."""


class RowPerceive(AbstractPerceive):
    """A learned layer over each cell's window ``offsets`` of a row (zero outside), plus,
    with ``pooled``, the mean state of the row's real cells (``state[:, mask_channel]``
    weighs them; padding-length invariant), and with ``segments`` the mean state of the
    cell's segment (:func:`segment_means`), and for each of ``context_decays`` the
    decayed sums of the row on the cell's left and right (:func:`directional_context`):
    ``relu(weight @ [window, mean, segment, contexts] + bias)``. ``weight`` ``(F, (K +
    pooled + segments + 2 * len(context_decays)) * C)``, input index ``k * C + c``."""

    weight: Float[Array, "F KC"]
    bias: Float[Array, " F"]
    offsets: tuple[tuple[int], ...] = eqx.field(static=True)
    pooled: bool = eqx.field(static=True)
    segments: bool = eqx.field(static=True)
    context_decays: tuple[float, ...] = eqx.field(static=True)
    mask_channel: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    num_features: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, offsets: Sequence[int], *, num_channels: int, num_features: int, pooled: bool,
                 mask_channel: int, key: PRNGKeyArray, segments: bool = False,
                 context_decays: Sequence[float] = ()):
        self.offsets = tuple((int(o),) for o in offsets)
        self.pooled, self.segments, self.mask_channel = pooled, segments, mask_channel
        self.context_decays = tuple(float(d) for d in context_decays)
        self.num_channels, self.num_features, self.num_spatial_dims = num_channels, num_features, 1
        k = num_views(len(self.offsets), pooled, segments, self.context_decays) * num_channels
        lim = math.sqrt(6.0 / (k + num_features))
        self.weight = jax.random.uniform(key, (num_features, k), jnp.float32, -lim, lim)
        self.bias = jnp.zeros((num_features,), jnp.float32)

    def __call__(self, state: Float[Array, "L C"]) -> Float[Array, "L F"]:
        views = row_views(state, self.offsets, pooled=self.pooled, segments=self.segments,
                          context_decays=self.context_decays, mask_channel=self.mask_channel)
        return jax.nn.relu(views.reshape(state.shape[0], -1) @ self.weight.T + self.bias)


def _evaluate(model, **kw):
    from ._score import evaluate

    return evaluate(model, **kw)


CARD = CardSpec(
    task_type="other", task_name="1D-ARC abstract reasoning (exact match)",
    dataset_type="1d-arc", dataset_name="1D-ARC (Xu et al. 2023), held-out instances",
    dataset_split="test",
    tags=("neural-cellular-automata", "arc", "abstract-reasoning", "test-time-training"),
    results=(CardResult("heldout_overall", "accuracy", "exact match, held-out instances"),),
    eval_command=plain_eval,
)
"""What the 1D-ARC model's cards declare (Hub ``model-index``, the eval command)."""


@register(
    "arc1d_nca",
    description="1-D neural CA for 1D-ARC: pretrained on all training tasks, fine-tuned on each task's demonstrations at test time",
    paper="Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025); 1D-ARC: Xu et al. 2023",
    tags=("neural", "1d", "arc", "reasoning"),
    recipe="recipes.arc1d_nca",
    evaluate=_evaluate,
    card=CARD,
)
class Arc1DNCA(AbstractNCA):
    """1-D NCA for 1D-ARC. State ``(L, 11 + hidden)`` float32: input one-hot (10), mask
    (1), hidden channels (the first 10 are output-colour logits). With ``ttt_contexts``
    > 0 it carries ``contexts`` ``(ttt_contexts, features)``, task contexts test-time
    training may start from (:func:`with_contexts`; ``None`` otherwise). ``key``
    initialises the parameters (required)."""

    perceive: RowPerceive | ColourRowPerceive
    update: NCAUpdate | ColourUpdate
    contexts: Float[Array, "K F"] | None
    hidden: int = eqx.field(static=True)
    features: int = eqx.field(static=True)
    radius: int = eqx.field(static=True)
    far: tuple[int, ...] = eqx.field(static=True)
    pooled: bool = eqx.field(static=True)
    segment_pooled: bool = eqx.field(static=True)
    context_decays: tuple[float, ...] = eqx.field(static=True)
    colour_channels: int = eqx.field(static=True)
    colour_features: int = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    ttt_steps: int = eqx.field(static=True)
    ttt_lr: float = eqx.field(static=True)
    ttt_adapt: str = eqx.field(static=True)
    ttt_restarts: int = eqx.field(static=True)
    ttt_mirror: bool = eqx.field(static=True)
    ttt_contexts: int = eqx.field(static=True)
    ttt_verify: bool = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    def __init__(self, *, hidden: int = 24, features: int = 64, radius: int = 2,
                 far: Sequence[int] = (), pooled: bool = False, segment_pooled: bool = False,
                 context_decays: Sequence[float] = (), colour_channels: int = 0, colour_features: int = 8,
                 default_steps: int = 24, ttt_steps: int = 150,
                 ttt_lr: float = 3e-3, ttt_adapt: str = "all", ttt_restarts: int = 2,
                 ttt_mirror: bool = False, ttt_contexts: int = 0, ttt_verify: bool = False,
                 key: PRNGKeyArray | None = None):
        self.hidden = check_int("hidden", hidden, minimum=NUM_COLOURS, maximum=MAX_CHANNELS)
        self.features = check_int("features", features, minimum=1, maximum=MAX_HIDDEN)
        self.radius = check_int("radius", radius, minimum=1, maximum=MAX_RADIUS)
        self.default_steps = check_int("default_steps", default_steps, minimum=1, maximum=10_000)
        self.ttt_steps = check_int("ttt_steps", ttt_steps, minimum=1, maximum=1_000_000)
        self.ttt_restarts = check_int("ttt_restarts", ttt_restarts, minimum=1, maximum=1024)
        self.ttt_lr = check_float("ttt_lr", ttt_lr, minimum=0.0, maximum=1.0, open_minimum=True, open_maximum=True)
        self.ttt_adapt = check_choice("ttt_adapt", ttt_adapt, TTT_ADAPT)
        self.pooled = check_bool("pooled", pooled)
        self.segment_pooled = check_bool("segment_pooled", segment_pooled)
        self.ttt_mirror = check_bool("ttt_mirror", ttt_mirror)
        self.ttt_verify = check_bool("ttt_verify", ttt_verify)
        self.ttt_contexts = check_int("ttt_contexts", ttt_contexts, minimum=0, maximum=4096)
        self.context_decays = check_float_tuple(
            "context_decays", list(context_decays) if isinstance(context_decays, tuple) else context_decays,
            minimum=0.0, maximum=0.999, max_length=8)
        self.far = check_int_tuple("far", list(far) if isinstance(far, tuple) else far,
                                   minimum=self.radius + 1, maximum=4096, max_length=16)
        self.colour_channels = check_int("colour_channels", colour_channels, minimum=0, maximum=MAX_CHANNELS)
        self.colour_features = check_int("colour_features", colour_features, minimum=1, maximum=MAX_HIDDEN)
        key = require_key(key)
        self.num_spatial_dims = 1
        self.num_channels = c = FIXED + self.hidden
        r = self.radius
        offsets = [*range(-r, r + 1), *(-d for d in self.far), *self.far]
        if self.colour_channels:
            shared = colour_sizes(self.features, self.colour_features)
            sizes = dict(hidden=self.hidden, colour_channels=self.colour_channels,
                         colour_features=self.colour_features, shared_features=shared)
            self.perceive = ColourRowPerceive(offsets, num_channels=c, pooled=self.pooled, segments=self.segment_pooled,
                                              context_decays=self.context_decays, key=key, **sizes)
            self.update = ColourUpdate(**sizes)
        else:
            self.perceive = RowPerceive(offsets, num_channels=c, num_features=self.features, pooled=self.pooled,
                                        segments=self.segment_pooled, context_decays=self.context_decays,
                                        mask_channel=NUM_COLOURS, key=key)
            self.update = NCAUpdate(CellMLP([self.features, self.hidden], key=key), fire_rate=1.0,
                                    first_channel=FIXED, alive=AliveMask(NUM_COLOURS, 0.5, neighbourhood=False))
        self.contexts = jnp.zeros((self.ttt_contexts, self.features), jnp.float32) if self.ttt_contexts else None

    def config(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "features": self.features, "radius": self.radius,
                "far": list(self.far), "pooled": self.pooled, "segment_pooled": self.segment_pooled,
                "context_decays": list(self.context_decays),
                "colour_channels": self.colour_channels, "colour_features": self.colour_features,
                "default_steps": self.default_steps,
                "ttt_steps": self.ttt_steps, "ttt_lr": self.ttt_lr, "ttt_adapt": self.ttt_adapt,
                "ttt_restarts": self.ttt_restarts, "ttt_mirror": self.ttt_mirror,
                "ttt_contexts": self.ttt_contexts, "ttt_verify": self.ttt_verify}

    # ------------------------------------------------------------------ states
    def initial_state(self, rows: Any, mask: Any = None) -> Float[Array, "*B L C"]:
        """States for colour rows ``(L,)`` or ``(B, L)`` (ints 0-9); ``mask`` (same shape,
        bool) marks real cells (default all); hidden channels zero."""
        x = np.asarray(rows)
        if x.ndim not in (1, 2) or x.size == 0 or x.dtype.kind not in "iu":
            raise StateError(f"arc1d_nca expects integer colour rows (L,) or (B, L), got {x.dtype} {x.shape}")
        if x.min() < 0 or x.max() >= NUM_COLOURS:
            raise StateError(f"colours must be in 0-9, got {int(x.min())}..{int(x.max())}")
        m = np.ones(x.shape, bool) if mask is None else np.asarray(mask, bool)
        if m.shape != x.shape:
            raise StateError(f"mask has shape {m.shape}, the rows {x.shape}")
        return initial_states(jnp.asarray(x, jnp.int32), jnp.asarray(m), self.hidden)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """A random 1D-ARC-like row: a block of one colour on background (``size`` cells,
        default 32), drawn from ``key`` (from fresh entropy without one); ``batch_size``
        rows from splits of ``key``."""
        (n,) = self.spatial_shape(size, 32)
        return self.initial_state(random_block_rows(n, key=key, batch_size=batch_size))

    def cli_task(self, path, *, steps: int | None = None, seed: int = 0):
        """``cax-zoo run arc1d_nca --task FILE.json``: solve the task file with this model's
        test-time training and vote (:func:`~cax_zoo.arc1d.solve`) and draw input,
        prediction and expected output (a :class:`~cax_zoo.arc1d.TaskRun`)."""
        from ._task_file import solve_task_file

        return solve_task_file(self, path, steps=steps, seed=seed)

    def predict_row(self, state) -> np.ndarray:
        """Output colours ``(..., L)``: argmax of the logits (-1 on padding)."""
        s = np.asarray(jax.device_get(state))
        out = np.argmax(s[..., FIXED : FIXED + NUM_COLOURS], axis=-1)
        return np.where(s[..., NUM_COLOURS] > 0.5, out, -1)

    def render(self, state) -> np.ndarray:
        """Two rows: the input colours over the predicted output colours (ARC palette)."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 2:
            raise StateError(f"render takes one unbatched state (L, C), got shape {s.shape}")
        x = np.argmax(s[:, :NUM_COLOURS], -1)
        y = np.maximum(self.predict_row(s), 0)
        return ARC_COLOURS[np.stack([x, y])]

    def render_trajectory(self, trajectory) -> list[np.ndarray]:
        """One space-time diagram: the input row, then the predicted output at each
        sampled time (top to bottom)."""
        s = np.asarray(jax.device_get(trajectory), np.float32)
        if s.ndim != 3:
            raise StateError(f"render_trajectory takes one unbatched trajectory (T, L, C), got shape {s.shape}")
        x = np.argmax(s[0, :, :NUM_COLOURS], -1)
        y = np.maximum(self.predict_row(s), 0)
        return [ARC_COLOURS[np.concatenate([x[None], y])]]


def checked_contexts(contexts: Any, features: int) -> np.ndarray:
    """``contexts`` as a float32 ``(K >= 1, features)`` array, or a one-line ConfigError."""
    c = np.asarray(contexts, np.float32)
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] != features or not np.all(np.isfinite(c)):
        raise ConfigError(f"contexts must be finite (K >= 1, {features}), got shape {c.shape}")
    return c


def with_contexts(model: Arc1DNCA, contexts: Float[Array, "K F"]) -> Arc1DNCA:
    """``model`` carrying ``contexts`` (``K`` task contexts of ``features`` each, as the
    recipe learns them: shifts of the perception's bias), from which test-time training
    starts the one that fits a task's demonstrations best (:func:`~cax_zoo.arc1d.candidates`)."""
    c = checked_contexts(contexts, model.features)
    out = Arc1DNCA(**{**model.config(), "ttt_contexts": c.shape[0]}, key=jax.random.PRNGKey(0))
    return eqx.tree_at(lambda m: (m.perceive, m.update, m.contexts), out, (model.perceive, model.update, jnp.asarray(c)))


def initial_states(x: Int[Array, "*B L"], mask: Array, hidden: int) -> Float[Array, "*B L C"]:
    """Traceable states for colour rows ``x`` and validity ``mask``: one-hot input (zero on
    padding), the mask, zero hidden channels."""
    onehot = jax.nn.one_hot(x, NUM_COLOURS, dtype=jnp.float32)
    m = mask.astype(jnp.float32)[..., None]
    return jnp.concatenate([onehot * m, m, jnp.zeros(x.shape + (hidden,), jnp.float32)], axis=-1)


def logits(model: Arc1DNCA, x: Int[Array, " L"], mask: Array, steps: int) -> Float[Array, "L 10"]:
    """Output-colour logits after ``steps`` steps from colour row ``x`` (traceable, differentiable)."""
    s = initial_states(x, mask, model.hidden)
    s = jax.lax.fori_loop(0, steps, lambda _, s: model.step(s), s)
    return s[:, FIXED : FIXED + NUM_COLOURS]
