"""CAX's own 1D-ARC NCA (Faldor & Cully 2025), under the paper's protocol: ONE neural CA for
all 18 task types, told which task type it faces by a learned task-ID embedding, and
no test-time training.

The architecture restates CAX's 1D-ARC example: a state of ``channels`` channels whose last
10 hold the one-hot input row at the start and the output-colour logits at the end (the
rest start at zero); perception by fixed depthwise identity and gradient kernels over 3
cells (:class:`~cax_zoo.nca.KernelPerceive`); a residual update of every channel by a cell
MLP ``2C + E -> hidden -> C`` (ReLU, last layer zero) that also reads the task type's
embedding (``E = embed_dim``; :class:`TaskUpdate`), the task-type index being the
rollout's per-step ``input``. A row is solved by ``default_steps`` steps and the argmax
of the last 10 channels. Rows are padded on the right with background (0), as CAX pads
with 0 (CAX centres the row in 96 cells; the rollout is the same up to the edges).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._blocks._nca import CellMLP, require_key
from ..._data._arc1d import NUM_COLOURS, TASK_TYPES
from ..._errors import StateError
from ..._nca._model import AbstractNCA
from ..._nca._perceive import KernelPerceive
from ..._nca._update import AbstractUpdate, with_input
from ..._registry import register
from ..._training._card import CardResult, CardSpec, eval_on_heldout
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, check_choice, check_int
from ._model import ARC_COLOURS
from ._random_rows import random_block_rows

MAX_EMBED = 1024


def _evaluate(model, **kw):
    from ._task_id_score import evaluate_task_id

    return evaluate_task_id(model, **kw)


CARD = CardSpec(
    task_type="other", task_name="1D-ARC abstract reasoning (exact match)",
    dataset_type="1d-arc", dataset_name="1D-ARC (Xu et al. 2023), held-out instances",
    dataset_split="test",
    tags=("neural-cellular-automata", "arc", "abstract-reasoning"),
    results=(CardResult("heldout_overall", "accuracy", "exact match, held-out instances"),),
    eval_command=eval_on_heldout,
)
"""What the task-ID 1D-ARC model's cards declare (Hub ``model-index``, the eval command)."""


class TaskUpdate(AbstractUpdate):
    """CAX's residual update of every channel, ``state += mlp([features, embedding[task]])``,
    where the step's ``input`` is a task-type index (an int scalar) and ``embedding`` a
    learned ``(T, E)`` table; without an input (``None``) the mean embedding stands in, the
    "average task" (so a plain rollout runs)."""

    mlp: CellMLP
    embedding: Float[Array, "T E"]

    def __call__(self, state, features, input=None, *, key=None):
        if input is None:
            z = jnp.mean(self.embedding, axis=0)
        else:
            z = self.embedding[jnp.asarray(input, jnp.int32)]
        return state + self.mlp(with_input(features, z))


@register(
    "arc1d_task_nca",
    description="1-D neural CA told the 1D-ARC task type by a learned embedding (CAX's 1D-ARC NCA; "
                "released as arc1d_nca/cax)",
    paper="Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025); 1D-ARC: Xu et al. 2023",
    tags=("neural", "1d", "arc", "reasoning"),
    recipe="recipes.arc1d_nca_cax",
    evaluate=_evaluate,
    card=CARD,
)
class Arc1DTaskNCA(AbstractNCA):
    """CAX's 1D-ARC NCA with a task-type embedding. State ``(L, channels)`` float32, the
    last 10 channels the input one-hot at the start and the output logits after the
    rollout; a task-type embedding ``(18, embed_dim)``, one row per :data:`~cax_zoo.arc1d.TASK_TYPES`
    entry (``update.embedding``). ``key`` initialises the parameters (required)."""

    perceive: KernelPerceive
    update: TaskUpdate
    channels: int = eqx.field(static=True)
    hidden_size: int = eqx.field(static=True)
    embed_dim: int = eqx.field(static=True)
    default_steps: int = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)

    def __init__(self, *, channels: int = 64, hidden_size: int = 256, embed_dim: int = 32,
                 default_steps: int = 64, key: PRNGKeyArray | None = None):
        self.channels = check_int("channels", channels, minimum=NUM_COLOURS + 1, maximum=MAX_CHANNELS)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1, maximum=MAX_HIDDEN)
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1, maximum=MAX_EMBED)
        self.default_steps = check_int("default_steps", default_steps, minimum=1, maximum=10_000)
        key = require_key(key)
        k_mlp, k_embed = jax.random.split(key)
        self.num_spatial_dims, self.num_channels = 1, self.channels
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=1, num_channels=self.channels)
        self.update = TaskUpdate(
            CellMLP([self.perceive.num_features + self.embed_dim, self.hidden_size, self.channels], key=k_mlp),
            jax.random.normal(k_embed, (len(TASK_TYPES), self.embed_dim), jnp.float32))

    def config(self) -> dict[str, Any]:
        return {"channels": self.channels, "hidden_size": self.hidden_size, "embed_dim": self.embed_dim,
                "default_steps": self.default_steps}

    # ------------------------------------------------------------------ inputs and states
    def task_input(self, task_type: str | int) -> Int[Array, ""]:
        """The per-step ``input`` of a task type given by its name in
        :data:`~cax_zoo.arc1d.TASK_TYPES` or its index there: ``model.rollout(state, n,
        input=model.task_input("1d_fill"))``."""
        if isinstance(task_type, str):
            task_type = TASK_TYPES.index(check_choice("task_type", task_type, TASK_TYPES))
        return jnp.int32(check_int("task_type", task_type, minimum=0, maximum=len(TASK_TYPES) - 1))

    def initial_state(self, rows: Any) -> Float[Array, "*B L C"]:
        """States for colour rows ``(L,)`` or ``(B, L)`` (ints 0-9): zeros, the one-hot
        input in the last 10 channels."""
        x = np.asarray(rows)
        if x.ndim not in (1, 2) or x.size == 0 or x.dtype.kind not in "iu":
            raise StateError(f"arc1d_nca/cax expects integer colour rows (L,) or (B, L), got {x.dtype} {x.shape}")
        if x.min() < 0 or x.max() >= NUM_COLOURS:
            raise StateError(f"colours must be in 0-9, got {int(x.min())}..{int(x.max())}")
        return task_id_states(jnp.asarray(x, jnp.int32), self.channels)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """A random 1D-ARC-like row: a block of one colour on background (``size`` cells,
        default 32), drawn from ``key`` (from fresh entropy without one); ``batch_size``
        rows from splits of ``key``."""
        (n,) = self.spatial_shape(size, 32)
        return self.initial_state(random_block_rows(n, key=key, batch_size=batch_size))

    def cli_task(self, path, *, steps: int | None = None, seed: int = 0):
        """``cax-zoo run arc1d_nca/cax --task <task_type>_<i>.json``: predict the task
        file's test outputs from its inputs and task type (no demonstrations, no
        test-time training; ``seed`` is unused: the prediction is deterministic) and draw
        input, prediction and expected output (a :class:`~cax_zoo.arc1d.TaskRun`)."""
        from ._task_id_score import solve_task_file_task_id

        return solve_task_file_task_id(self, path, steps=steps)

    def predict_row(self, state) -> np.ndarray:
        """Output colours ``(..., L)``: argmax of the last 10 channels."""
        s = np.asarray(jax.device_get(state))
        return np.argmax(s[..., -NUM_COLOURS:], axis=-1)

    def render(self, state) -> np.ndarray:
        """One row of ARC colours: the current output colours (the input at step 0)."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 2:
            raise StateError(f"render takes one unbatched state (L, C), got shape {s.shape}")
        return ARC_COLOURS[self.predict_row(s)][None]

    def render_trajectory(self, trajectory) -> list[np.ndarray]:
        """One space-time diagram: the output colours at each sampled time, top to bottom."""
        s = np.asarray(jax.device_get(trajectory), np.float32)
        if s.ndim != 3:
            raise StateError(f"render_trajectory takes one unbatched trajectory (T, L, C), got shape {s.shape}")
        return [ARC_COLOURS[self.predict_row(s)]]


def task_id_states(x: Int[Array, "*B L"], channels: int) -> Float[Array, "*B L C"]:
    """Traceable states for colour rows ``x``: zeros with the one-hot input in the last 10 channels."""
    onehot = jax.nn.one_hot(x, NUM_COLOURS, dtype=jnp.float32)
    return jnp.concatenate([jnp.zeros(x.shape + (channels - NUM_COLOURS,), jnp.float32), onehot], axis=-1)


def task_id_logits(model: Arc1DTaskNCA, x: Int[Array, " L"], task: Int[Array, ""], steps: int) -> Float[Array, "L 10"]:
    """Output-colour logits after ``steps`` steps from colour row ``x`` with task type index
    ``task`` (traceable, differentiable)."""
    s = task_id_states(x, model.channels)
    s = jax.lax.fori_loop(0, steps, lambda _, s: model.step(s, task), s)
    return s[:, -NUM_COLOURS:]


@register(
    "arc1d_nca/cax",
    description="CAX's 1D-ARC NCA (paper protocol): one 1-D neural CA for all task types, told the task type "
                "by a learned embedding, no test-time training",
    paper="Faldor & Cully 2025, 'CAX: Cellular Automata Accelerated in JAX' (ICLR 2025); 1D-ARC: Xu et al. 2023",
    tags=("neural", "1d", "arc", "reasoning", "pretrained"),
    recipe="recipes.arc1d_nca_cax",
    evaluate=_evaluate,
    card=CARD,
)
def cax(**config) -> Arc1DTaskNCA:
    """CAX's 1D-ARC NCA architecture (64 channels, hidden 256, 64 steps; weights from weights/)."""
    return Arc1DTaskNCA(**config)
