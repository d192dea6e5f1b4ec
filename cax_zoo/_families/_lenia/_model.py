"""The Lenia family module (Chan 2019, 2020; CAX's ``cax.cs.lenia.Lenia``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from ..._errors import ConfigError, StateError
from ..._grid import AbstractGridAutomaton, as_image
from ..._registry import register
from ..._training._card import CardResult, CardSpec, eval_with_steps
from ..._validation import check_choice, check_float, check_int, check_int_tuple, check_str
from ._kernels import GROWTHS, KERNEL_CORES, free_kernel, growth_function, offset_distance, ring_kernel
from ._metrics import creature_metrics
from ._render import render_channels
from ._rule import MAX_CHANNELS, MAX_KERNELS, MAX_RINGS, LeniaRule

MAX_DIMS = 4
MAX_EXTENT = 4096
MAX_PATTERN_CELLS = 1 << 22


def lenia_kernels(spatial: Sequence[int], radius_cells: float, rule: LeniaRule, core: str
                  ) -> Float[Array, "*spatial K"]:
    """The K kernels of ``rule`` on an FFT-layout grid of extents ``spatial``, each divided
    by its sum: distances are in units of ``radius_cells`` (``R`` times ``state_scale``)
    and each kernel is a ring shell (``core`` one of the ring cores) or a free kernel."""
    radius = jnp.asarray(offset_distance(tuple(spatial))) / radius_cells
    if core == "free":
        if rule.a is None:
            raise ConfigError("kernel_core 'free' needs a rule with bump centres a and widths w")
        k = jax.vmap(free_kernel, in_axes=(None, 0, 0, 0, 0), out_axes=-1)(radius, rule.r, rule.b, rule.a, rule.w)
    else:
        k = jax.vmap(lambda r, b, n: ring_kernel(radius, r, b, n, core), out_axes=-1)(rule.r, rule.b, rule.rings)
    total = jnp.sum(k, axis=tuple(range(len(spatial))))
    return k / jnp.where(total > 0, total, 1.0)


CARD = CardSpec(
    task_type="other", task_name="Lenia creature (continuous cellular automaton)",
    dataset_type="lenia-catalogue", dataset_name="Bert Chan's Lenia catalogue (animals.json)",
    tags=("lenia", "artificial-life"),
    results=(CardResult("mean_speed_cells_per_unit_time", "speed", "centre-of-mass speed (cells per unit time)"),),
    eval_command=eval_with_steps,
)
"""What a released Lenia creature's card declares (Hub ``model-index``, the eval command)."""


@register(
    "lenia",
    description="Chan's Lenia: continuous multi-channel, multi-kernel CA in any number of "
    "dimensions (FFT convolution, differentiable rule arrays)",
    paper="Chan 2019, Lenia: Biology of Artificial Life (Complex Systems 28:3); "
    "Chan 2020, Lenia and Expanded Universe (ALIFE 2020)",
    tags=("continuous", "2d", "3d", "differentiable"),
    card=CARD,
)
class Lenia(AbstractGridAutomaton):
    """Lenia: ``A <- clip(A + (1/T) H, 0, 1)`` with ``H_c = sum_{k: target_k = c} h_k
    G_k(K_k * A_{source_k})``, every kernel ``K_k`` a shell of radius ``R state_scale r_k``
    normalised to sum 1 and ``G_k`` a growth function of centre ``m_k`` and width ``s_k``.

    The rule is one PyTree of arrays (:class:`LeniaRule`, field ``rule``), so ``jax.grad``
    reaches it and rules ``jax.vmap``; a released creature keeps it, with its ``pattern``,
    in ``model.safetensors`` (``config.json`` holds only their shapes). ``state_scale``
    (CAX's) scales the kernel radius and repeats each pattern cell that many times per
    axis. Convolutions are periodic FFTs; the kernel FFT is computed once per rollout.
    State: ``(*spatial, C)`` float32 in [0, 1].
    """

    rule: LeniaRule
    pattern: Float[Array, "*pattern C"] | None
    R: float = eqx.field(static=True)
    T: float = eqx.field(static=True)
    state_scale: int = eqx.field(static=True)
    kernel_core: str = eqx.field(static=True)
    growth: str = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True)
    default_size: tuple[int, ...] | None = eqx.field(static=True)
    creature: str = eqx.field(static=True)

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(
        self,
        *,
        R: float = 13.0,
        T: float = 10.0,
        m: Any = None,
        s: Any = None,
        h: Any = None,
        r: Any = None,
        b: Any = None,
        a: Any = None,
        w: Any = None,
        sources: Sequence[int] | None = None,
        targets: Sequence[int] | None = None,
        rule: LeniaRule | None = None,
        num_kernels: int | None = None,
        num_rings: int | None = None,
        kernel_core: str = "polynomial",
        growth: str = "polynomial",
        state_scale: int = 1,
        num_spatial_dims: int = 2,
        num_channels: int = 1,
        pattern_shape: Sequence[int] | None = None,
        default_size: Sequence[int] | int | None = None,
        creature: str = "",
        pattern: Any = None,
        key: PRNGKeyArray | None = None,
    ):
        """Give the rule as arrays (``m, s, h, r, b`` and, for ``kernel_core="free"``,
        ``a, w``: numbers shared by every kernel or per-kernel lists; ``sources``/``targets``
        channel indices), or as a :class:`LeniaRule`, or only its shapes ``num_kernels`` and
        ``num_rings`` (the skeleton a weight file fills; this is what ``config.json``
        records). ``key`` is unused (Lenia has no random parameters)."""
        self.num_spatial_dims = check_int("num_spatial_dims", num_spatial_dims, minimum=1, maximum=MAX_DIMS)
        self.num_channels = check_int("num_channels", num_channels, minimum=1, maximum=MAX_CHANNELS)
        self.R = check_float("R", R, minimum=0.0, maximum=1024.0, open_minimum=True)
        self.T = check_float("T", T, minimum=0.0, maximum=1e6, open_minimum=True)
        self.state_scale = check_int("state_scale", state_scale, minimum=1, maximum=16)
        self.kernel_core = check_choice("kernel_core", kernel_core, KERNEL_CORES)
        self.growth = check_choice("growth", growth, GROWTHS)
        self.rule = LeniaRule.from_config(
            m=m, s=s, h=h, r=r, b=b, a=a, w=w, sources=sources, targets=targets, rule=rule,
            num_kernels=num_kernels, num_rings=num_rings, kernel_core=self.kernel_core,
            num_channels=self.num_channels)
        if default_size is not None:
            default_size = check_int_tuple(
                "default_size", (default_size,) * self.num_spatial_dims
                if isinstance(default_size, (int, np.integer)) and not isinstance(default_size, bool)
                else default_size, length=self.num_spatial_dims, minimum=1, maximum=MAX_EXTENT)
        self.default_size = default_size
        self.creature = check_str("creature", creature, max_length=200)
        if pattern is not None:
            pattern = np.asarray(pattern, np.float32)
        elif pattern_shape is not None:
            shape = check_int_tuple("pattern_shape", pattern_shape, length=self.num_spatial_dims + 1,
                                    minimum=1, maximum=MAX_EXTENT)
            if math.prod(shape) > MAX_PATTERN_CELLS:
                raise ConfigError(f"pattern_shape {list(shape)} has more than {MAX_PATTERN_CELLS} values")
            pattern = np.zeros(shape, np.float32)
        if pattern is not None:
            if pattern.ndim != self.num_spatial_dims + 1 or pattern.shape[-1] != self.num_channels:
                raise ConfigError(
                    f"pattern must have shape (*spatial[{num_spatial_dims}], {num_channels}), got {pattern.shape}")
            pattern = jnp.asarray(pattern)
        self.pattern = pattern

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_creature(cls, creature: Any, **overrides: Any) -> Lenia:
        """A Lenia module running ``creature``'s rule (a catalogue or CAX creature), with
        its cells as ``pattern``; ``overrides`` replace any constructor argument."""
        config = dict(
            R=creature.R, T=creature.T, **creature.rule_arrays(), kernel_core=creature.kernel_core,
            growth=creature.growth, state_scale=creature.state_scale,
            num_spatial_dims=creature.num_spatial_dims, num_channels=creature.num_channels,
            creature=f"{creature.name} ({creature.code})" if creature.name and creature.name != creature.code else creature.code,
            pattern=creature.cells,
        )
        config.update(overrides)
        return cls(**config)

    def config(self) -> dict[str, Any]:
        return {
            "R": self.R, "T": self.T, "state_scale": self.state_scale,
            "num_kernels": self.num_kernels, "num_rings": int(np.shape(self.rule.b)[-1]),
            "kernel_core": self.kernel_core, "growth": self.growth,
            "num_spatial_dims": self.num_spatial_dims, "num_channels": self.num_channels,
            "pattern_shape": None if self.pattern is None else list(self.pattern.shape),
            "default_size": None if self.default_size is None else list(self.default_size),
            "creature": self.creature,
        }

    @property
    def num_kernels(self) -> int:
        return self.rule.num_kernels

    # ------------------------------------------------------------------ dynamics
    def kernels(self, spatial: Sequence[int]) -> Float[Array, "*spatial K"]:
        """The normalised kernels for a grid of extents ``spatial`` (origin at index 0)."""
        return lenia_kernels(tuple(spatial), self.R * self.state_scale, self.rule, self.kernel_core)

    def kernel_fft(self, spatial: Sequence[int]) -> Complex[Array, "*freq K"]:
        """rFFT of :meth:`kernels` over the spatial axes."""
        return jnp.fft.rfftn(self.kernels(spatial), axes=tuple(range(self.num_spatial_dims)))

    def potential(self, state: Float[Array, "*spatial C"], kfft: Array | None = None
                  ) -> Float[Array, "*spatial K"]:
        """``U_k = K_k * A_{source_k}``, every kernel's potential."""
        axes = tuple(range(self.num_spatial_dims))
        spatial = state.shape[: self.num_spatial_dims]
        if kfft is None:
            kfft = self.kernel_fft(spatial)
        fa = jnp.take(jnp.fft.rfftn(state, axes=axes), self.rule.sources, axis=-1)
        return jnp.fft.irfftn(fa * kfft, s=spatial, axes=axes)

    def growth_field(self, state: Float[Array, "*spatial C"], kfft: Array | None = None
                     ) -> Float[Array, "*spatial C"]:
        """``H``: the weighted growth summed per target channel."""
        rule = self.rule
        g = growth_function(self.potential(state, kfft), rule.m, rule.s, self.growth) * rule.h
        return g @ jax.nn.one_hot(rule.targets, self.num_channels, dtype=g.dtype)

    def _update(self, state, kfft):
        return jnp.clip(state + self.growth_field(state, kfft) / self.T, 0.0, 1.0)

    def step(self, state: Float[Array, "*spatial C"], input=None, *, key=None) -> Float[Array, "*spatial C"]:
        return self._update(state, None)

    def encode_state(self, state):
        """Carry the kernel FFT through the rollout: computed once, still differentiable."""
        return state, self.kernel_fft(state.shape[: self.num_spatial_dims])

    def encoded_step(self, encoded, input=None, *, key=None):
        state, kfft = encoded
        return self._update(state, kfft), kfft

    def decode_state(self, encoded):
        return encoded[0]

    # ------------------------------------------------------------------ states
    def _radius(self) -> float:
        try:
            return self.R * self.state_scale * float(np.max(np.asarray(self.rule.r)))
        except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
            return self.R * self.state_scale

    def check_state(self, state) -> int:
        batch = super().check_state(state)
        spatial = tuple(state.shape[batch: batch + self.num_spatial_dims])
        need = 2 * math.ceil(self._radius()) + 1
        if min(spatial) < need:
            raise StateError(
                f"Lenia with kernel radius {self._radius():g} needs every spatial extent >= {need} "
                f"(the periodic kernel would overlap itself), got {spatial}")
        return batch

    def scaled_pattern(self) -> Float[Array, "*scaled C"] | None:
        """``pattern`` with every cell repeated ``state_scale`` times per spatial axis."""
        if self.pattern is None:
            return None
        p = jnp.asarray(self.pattern, jnp.float32)
        for axis in range(self.num_spatial_dims):
            p = jnp.repeat(p, self.state_scale, axis=axis)
        return p

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """The creature ``pattern`` (scaled by ``state_scale``) in the middle of an empty
        grid, placed as CAX places it (start ``n // 2 - p // 2``); default size: the
        creature's ``default_size``, else 128 per axis in 1-D/2-D, 64 in 3-D and above.
        Without a pattern, a random soup (uniform in [0, 1]) in a centred box of side
        ``4 R state_scale`` drawn from ``key`` (default ``PRNGKey(0)``)."""
        if size is None and self.default_size is not None:
            shape = self.default_size
        else:
            shape = self.spatial_shape(size, 128 if self.num_spatial_dims <= 2 else 64)
        grid = jnp.zeros(shape + (self.num_channels,), jnp.float32)
        patch = self.scaled_pattern()
        if patch is None:
            key = jax.random.PRNGKey(0) if key is None else key
            side = tuple(min(n, max(1, int(round(4 * self.R * self.state_scale)))) for n in shape)
            patch = jax.random.uniform(key, side + (self.num_channels,), jnp.float32)
        if any(p > n for p, n in zip(patch.shape, shape)):
            raise StateError(f"the creature pattern {tuple(patch.shape[:-1])} does not fit a grid of {shape}")
        start = tuple(n // 2 - p // 2 for p, n in zip(patch.shape, shape)) + (0,)
        return jax.lax.dynamic_update_slice(grid, patch, start)

    def render(self, state) -> np.ndarray:
        """1 channel: a viridis-like colour ramp; 2: red/green; 3+: the first three as RGB.
        3-D grids are max-projected."""
        return render_channels(as_image(state, self.num_spatial_dims))

    # ------------------------------------------------------------------ measures
    def metrics(self, trajectory: Array, *, every: int = 1) -> dict[str, np.ndarray]:
        """Mass, periodic-aware centre of mass and velocity of a trajectory
        ``(time, *spatial, C)`` sampled every ``every`` steps (see :func:`creature_metrics`)."""
        return creature_metrics(trajectory, self.num_spatial_dims, every=every, T=self.T)


__all__ = ["Lenia", "lenia_kernels", "MAX_KERNELS", "MAX_RINGS"]
