"""Lenia (Chan 2019, 2020): continuous multi-channel, multi-kernel cellular automata in any
number of dimensions, with the creatures of Chan's catalogue as presets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from .._data import _lenia_catalogue as catalogue
from .._errors import ConfigError, StateError
from .._grid import AbstractGridAutomaton, as_image
from .._registry import register

KERNEL_CORES = catalogue.KERNEL_CORES
GROWTHS = catalogue.GROWTHS


# ----------------------------------------------------------------------------- pieces
def kernel_core(x: Array, core: str) -> Array:
    """A kernel core on ``x`` in [0, 1) (position inside a ring): Chan's ``polynomial``
    ``(4x(1-x))^4``, ``exponential`` ``exp(4 - 1/(x(1-x)))``, ``rectangular`` (1 on
    [1/4, 3/4]), ``staircase`` (rectangular plus 1/2 below 1/4; Game of Life) and
    ``gaussian`` ``exp(-((x-1/2)/0.15)^2/2)`` (the expanded-universe bump)."""
    if core == "polynomial":
        return (4.0 * x * (1.0 - x)) ** 4
    if core == "exponential":
        q = x * (1.0 - x)
        ok = q > 0
        return jnp.where(ok, jnp.exp(4.0 - 1.0 / jnp.where(ok, q, 1.0)), 0.0)
    if core == "rectangular":
        return ((x >= 0.25) & (x <= 0.75)).astype(x.dtype)
    if core == "staircase":
        return ((x >= 0.25) & (x <= 0.75)).astype(x.dtype) + 0.5 * (x < 0.25).astype(x.dtype)
    if core == "gaussian":
        return jnp.exp(-0.5 * ((x - 0.5) / 0.15) ** 2)
    raise ConfigError(f"unknown kernel core {core!r}; expected one of {', '.join(KERNEL_CORES)}")


def growth_function(u: Array, m: Array, s: Array, growth: str) -> Array:
    """Growth in [-1, 1] of potential ``u`` around ``m`` with width ``s``: ``polynomial``
    ``2 max(0, 1 - (u-m)^2/(9s^2))^4 - 1``, ``gaussian`` ``2 exp(-(u-m)^2/(2s^2)) - 1``,
    ``rectangular`` ``2 [|u-m| <= s] - 1``."""
    if growth == "polynomial":
        return 2.0 * jnp.maximum(0.0, 1.0 - (u - m) ** 2 / (9.0 * s**2)) ** 4 - 1.0
    if growth == "gaussian":
        return 2.0 * jnp.exp(-((u - m) ** 2) / (2.0 * s**2)) - 1.0
    if growth == "rectangular":
        return 2.0 * (jnp.abs(u - m) <= s).astype(u.dtype) - 1.0
    raise ConfigError(f"unknown growth function {growth!r}; expected one of {', '.join(GROWTHS)}")


def offset_distance(spatial: Sequence[int]) -> np.ndarray:
    """Euclidean distance of every cell from the origin on a periodic grid laid out for an
    FFT (offsets ``0, 1, ..., -2, -1`` along each axis)."""
    grids = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in spatial], indexing="ij")
    return np.sqrt(sum(g.astype(np.float64) ** 2 for g in grids)).astype(np.float32)


def lenia_kernels(
    spatial: Sequence[int], R: float, r: Float[Array, "K"], b: Float[Array, "K B"],
    rings: Sequence[int], core: str,
) -> Float[Array, "*spatial K"]:
    """The K normalised kernels on an FFT-layout grid: at distance ``d``, with
    ``rho = d / (R r_k)`` and ``n_k`` rings, ``b_k[floor(n_k rho)] * core(n_k rho mod 1)``
    for ``rho < 1`` (0 beyond), divided by its sum (Chan's ``kernel_shell``)."""
    dist = jnp.asarray(offset_distance(spatial))[..., None]
    rho = dist / (R * r)
    n = jnp.asarray(rings, dtype=rho.dtype)
    x = n * rho
    ring = jnp.minimum(jnp.floor(x), n - 1.0)
    onehot = jax.nn.one_hot(jax.lax.stop_gradient(ring).astype(jnp.int32), b.shape[-1], dtype=b.dtype)
    weight = jnp.sum(onehot * b, axis=-1)
    k = jnp.where(rho < 1.0, weight * kernel_core(x - jnp.floor(x), core), 0.0)
    total = jnp.sum(k, axis=tuple(range(len(spatial))))
    return k / jnp.where(total > 0, total, 1.0)


def _float(v: Any) -> float:
    """The shortest decimal that round-trips through float32 (clean config.json values)."""
    return float(str(np.float32(v)))


def _as_list(value: Any, name: str, k: int | None) -> list[float]:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return [float(value)] * (k or 1)
    try:
        out = [float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if k is not None and len(out) != k:
        raise ConfigError(f"{name} has {len(out)} entries but there are {k} kernels")
    return out


def _ring_lists(b: Any, k: int) -> list[list[float]]:
    if isinstance(b, str):
        try:
            return [list(catalogue.parse_fractions(b, where="b"))] * k
        except catalogue.DataError as e:
            raise ConfigError(str(e)) from None
    if isinstance(b, (list, tuple)) and b and all(isinstance(x, (list, tuple, str)) for x in b):
        if len(b) != k:
            raise ConfigError(f"b has ring weights for {len(b)} kernels but there are {k} kernels")
        return [_ring_lists(x, 1)[0] for x in b]
    rings = _as_list(b, "b", None)
    return [rings] * k


# ----------------------------------------------------------------------------- family
@register(
    "lenia",
    description="Chan's Lenia: continuous multi-channel, multi-kernel CA in any number of "
    "dimensions (FFT convolution, differentiable rule arrays)",
    paper="Chan 2019, Lenia: Biology of Artificial Life (Complex Systems 28:3); "
    "Chan 2020, Lenia and Expanded Universe (ALIFE 2020)",
    tags=("continuous", "2d", "3d", "differentiable"),
)
class Lenia(AbstractGridAutomaton):
    """Lenia: ``A <- clip(A + (1/T) H, 0, 1)`` with ``H_c = sum_{k: target_k = c} h_k
    G_k(K_k * A_{source_k})``, every kernel ``K_k`` a ring-weighted core of radius ``R r_k``
    normalised to sum 1 and ``G_k`` a growth function of centre ``m_k`` and width ``s_k``.

    Convolutions are periodic FFTs over the spatial axes. The rule arrays ``m, s, h, r, b``
    (shape ``(K,)``, ``b`` ``(K, max rings)``) are module fields, so ``jax.grad`` reaches
    them; the kernel FFT is computed from them once per rollout (see :meth:`encode_state`).
    State: ``(*spatial, C)`` float32 in [0, 1]. ``pattern`` is the creature placed by
    :meth:`init_state` (``None`` for a random soup).
    """

    m: Float[Array, " K"]
    s: Float[Array, " K"]
    h: Float[Array, " K"]
    r: Float[Array, " K"]
    b: Float[Array, "K B"]
    pattern: Float[Array, "*pattern C"] | None
    R: float = eqx.field(static=True)
    T: float = eqx.field(static=True)
    rings: tuple[int, ...] = eqx.field(static=True)
    sources: tuple[int, ...] = eqx.field(static=True)
    targets: tuple[int, ...] = eqx.field(static=True)
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
        m: float | Sequence[float] = 0.15,
        s: float | Sequence[float] = 0.015,
        h: float | Sequence[float] = 1.0,
        r: float | Sequence[float] = 1.0,
        b: Any = (1.0,),
        sources: Sequence[int] | None = None,
        targets: Sequence[int] | None = None,
        kernel_core: str = "polynomial",
        growth: str = "polynomial",
        num_spatial_dims: int = 2,
        num_channels: int = 1,
        pattern_shape: Sequence[int] | None = None,
        default_size: Sequence[int] | int | None = None,
        creature: str = "",
        pattern: Any = None,
        key: PRNGKeyArray | None = None,
    ):
        for name, v in (("num_spatial_dims", num_spatial_dims), ("num_channels", num_channels)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name, v in (("R", R), ("T", T)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        if kernel_core not in KERNEL_CORES:
            raise ConfigError(f"unknown kernel_core {kernel_core!r}; expected one of {', '.join(KERNEL_CORES)}")
        if growth not in GROWTHS:
            raise ConfigError(f"unknown growth {growth!r}; expected one of {', '.join(GROWTHS)}")
        if hasattr(b, "ndim") and np.ndim(b) == 2:
            b = np.asarray(b).tolist()  # (K, rings) array: one row per kernel
        m, s, h, r = (float(v) if np.ndim(v) == 0 and not isinstance(v, str) else v for v in (m, s, h, r))
        lists = {n: v for n, v in (("m", m), ("s", s), ("h", h), ("r", r)) if not np.isscalar(v)}
        if sources is not None:
            lists["sources"] = sources
        if targets is not None:
            lists["targets"] = targets
        if isinstance(b, (list, tuple)) and b and all(isinstance(x, (list, tuple, str)) for x in b):
            lists["b"] = b
        sizes = {n: len(v) for n, v in lists.items()}
        if len(set(sizes.values())) > 1:
            raise ConfigError(f"per-kernel lists disagree on the number of kernels: {sizes}")
        k = next(iter(sizes.values())) if sizes else 1
        if k < 1:
            raise ConfigError("Lenia needs at least one kernel")
        ms, ss, hs, rs = (_as_list(v, n, k) for n, v in (("m", m), ("s", s), ("h", h), ("r", r)))
        if any(not math.isfinite(v) for v in ms + hs):
            raise ConfigError("m and h must be finite")
        if any(not (v > 0 and math.isfinite(v)) for v in ss):
            raise ConfigError(f"s (growth widths) must be positive, got {ss}")
        if any(not (v > 0 and math.isfinite(v)) for v in rs):
            raise ConfigError(f"r (relative kernel radii) must be positive, got {rs}")
        bs = _ring_lists(b, k)
        if any(not bl for bl in bs) or any(not (x >= 0 and math.isfinite(x)) for bl in bs for x in bl):
            raise ConfigError(f"b (ring weights) must be non-empty lists of numbers >= 0, got {b!r}")
        if any(not any(x > 0 for x in bl) for bl in bs):
            raise ConfigError(f"every kernel needs a positive ring weight, got b={b!r}")
        src = tuple(sources) if sources is not None else (0,) * k
        dst = tuple(targets) if targets is not None else (0,) * k
        for name, idx in (("sources", src), ("targets", dst)):
            if any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < num_channels
                   for i in idx):
                raise ConfigError(f"{name} must be channel indices in [0, {num_channels}), got {list(idx)}")
        missing = sorted(set(range(num_channels)) - set(dst))
        if missing:
            raise ConfigError(f"channel(s) {missing} are the target of no kernel")
        width = max(len(bl) for bl in bs)
        self.m = jnp.asarray(ms, jnp.float32)
        self.s = jnp.asarray(ss, jnp.float32)
        self.h = jnp.asarray(hs, jnp.float32)
        self.r = jnp.asarray(rs, jnp.float32)
        self.b = jnp.asarray([bl + [0.0] * (width - len(bl)) for bl in bs], jnp.float32)
        self.rings = tuple(len(bl) for bl in bs)
        self.sources = tuple(int(i) for i in src)
        self.targets = tuple(int(i) for i in dst)
        self.R, self.T = float(R), float(T)
        self.kernel_core, self.growth = kernel_core, growth
        self.num_spatial_dims, self.num_channels = int(num_spatial_dims), int(num_channels)
        if default_size is not None:
            if isinstance(default_size, (int, np.integer)):
                default_size = (int(default_size),) * self.num_spatial_dims
            default_size = tuple(int(n) for n in default_size)
            if len(default_size) != self.num_spatial_dims or any(n < 1 for n in default_size):
                raise ConfigError(f"default_size must have {num_spatial_dims} positive extents, got {default_size}")
        self.default_size = default_size
        self.creature = str(creature)
        if pattern is not None:
            pattern = np.asarray(pattern, np.float32)
        elif pattern_shape is not None:
            pattern = np.zeros(tuple(int(n) for n in pattern_shape), np.float32)
        if pattern is not None:
            if pattern.ndim != self.num_spatial_dims + 1 or pattern.shape[-1] != self.num_channels:
                raise ConfigError(
                    f"pattern must have shape (*spatial[{num_spatial_dims}], {num_channels}), "
                    f"got {pattern.shape}")
            pattern = jnp.asarray(pattern)
        self.pattern = pattern

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_creature(cls, creature: catalogue.Creature, **overrides: Any) -> Lenia:
        """A Lenia module running ``creature``'s rule, with its cells as ``pattern``."""
        ks = creature.kernels
        config = dict(
            R=creature.R, T=creature.T, m=[k.m for k in ks], s=[k.s for k in ks],
            h=[k.h for k in ks], r=[k.r for k in ks], b=[list(k.b) for k in ks],
            sources=[k.c0 for k in ks], targets=[k.c1 for k in ks],
            kernel_core=creature.kernel_core, growth=creature.growth,
            num_spatial_dims=creature.num_spatial_dims, num_channels=creature.num_channels,
            creature=f"{creature.name} ({creature.code})" if creature.name else creature.code,
            pattern=creature.cells,
        )
        config.update(overrides)
        return cls(**config)

    def config(self) -> dict[str, Any]:
        b = np.asarray(self.b)
        return {
            "R": self.R, "T": self.T,
            "m": [_float(v) for v in np.asarray(self.m)],
            "s": [_float(v) for v in np.asarray(self.s)],
            "h": [_float(v) for v in np.asarray(self.h)],
            "r": [_float(v) for v in np.asarray(self.r)],
            "b": [[_float(v) for v in b[i, :n]] for i, n in enumerate(self.rings)],
            "sources": list(self.sources), "targets": list(self.targets),
            "kernel_core": self.kernel_core, "growth": self.growth,
            "num_spatial_dims": self.num_spatial_dims, "num_channels": self.num_channels,
            "pattern_shape": None if self.pattern is None else list(self.pattern.shape),
            "default_size": None if self.default_size is None else list(self.default_size),
            "creature": self.creature,
        }

    @property
    def num_kernels(self) -> int:
        return len(self.rings)

    # ------------------------------------------------------------------ dynamics
    def kernels(self, spatial: Sequence[int]) -> Float[Array, "*spatial K"]:
        """The normalised kernels for a grid of extents ``spatial`` (origin at index 0)."""
        return lenia_kernels(tuple(spatial), self.R, self.r, self.b, self.rings, self.kernel_core)

    def kernel_fft(self, spatial: Sequence[int]) -> Complex[Array, "*freq K"]:
        """rFFT of :meth:`kernels` over the spatial axes."""
        axes = tuple(range(self.num_spatial_dims))
        return jnp.fft.rfftn(self.kernels(spatial), axes=axes)

    def growth_field(self, state: Float[Array, "*spatial C"], kfft: Array | None = None
                     ) -> Float[Array, "*spatial C"]:
        """``H``: the weighted growth summed per target channel."""
        d = self.num_spatial_dims
        axes = tuple(range(d))
        spatial = state.shape[:d]
        if kfft is None:
            kfft = self.kernel_fft(spatial)
        fa = jnp.fft.rfftn(state, axes=axes)
        if self.sources != tuple(range(self.num_kernels)) or self.num_channels != self.num_kernels:
            fa = fa[..., np.asarray(self.sources)]
        u = jnp.fft.irfftn(fa * kfft, s=spatial, axes=axes)
        g = growth_function(u, self.m, self.s, self.growth) * self.h
        if self.num_kernels == 1 and self.num_channels == 1:
            return g
        onehot = np.zeros((self.num_kernels, self.num_channels), np.float32)
        onehot[np.arange(self.num_kernels), np.asarray(self.targets)] = 1.0
        return g @ jnp.asarray(onehot)

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
            return self.R * float(np.max(np.asarray(self.r)))
        except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
            return self.R

    def check_state(self, state) -> int:
        batch = super().check_state(state)
        spatial = tuple(state.shape[batch: batch + self.num_spatial_dims])
        need = 2 * math.ceil(self._radius()) + 1
        if min(spatial) < need:
            raise StateError(
                f"Lenia with kernel radius {self._radius():g} needs every spatial extent >= {need} "
                f"(the periodic kernel would overlap itself), got {spatial}")
        return batch

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """The creature ``pattern`` in the middle of an empty grid (default: the creature's
        ``default_size``, else 128 per axis in 1-D/2-D, 64 in 3-D and above); without a
        pattern, a random soup (uniform in [0, 1]) in a centred box of side ``4R`` drawn
        from ``key`` (default ``PRNGKey(0)``)."""
        if size is None and self.default_size is not None:
            shape = self.default_size
        else:
            shape = self.spatial_shape(size, 128 if self.num_spatial_dims <= 2 else 64)
        grid = jnp.zeros(shape + (self.num_channels,), jnp.float32)
        if self.pattern is not None:
            patch = jnp.asarray(self.pattern, jnp.float32)
        else:
            key = jax.random.PRNGKey(0) if key is None else key
            side = tuple(min(n, max(1, int(round(4 * self.R)))) for n in shape)
            patch = jax.random.uniform(key, side + (self.num_channels,), jnp.float32)
        if any(p > n for p, n in zip(patch.shape, shape)):
            raise StateError(f"the creature pattern {tuple(patch.shape[:-1])} does not fit a grid of {shape}")
        start = tuple((n - p) // 2 for p, n in zip(patch.shape, shape)) + (0,)
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


# ----------------------------------------------------------------------------- measures
def mass(state: Array, num_spatial_dims: int) -> np.ndarray:
    """Total mass (sum over space and channels) of ``(..., *spatial, C)``."""
    x = np.asarray(jax.device_get(state), np.float64)
    return x.sum(axis=tuple(range(x.ndim - num_spatial_dims - 1, x.ndim)))


def centre_of_mass(state: Array, num_spatial_dims: int) -> np.ndarray:
    """Centre of mass ``(d,)`` in cells of one state on a periodic grid: the circular mean
    along each axis locates the creature, then the plain centroid is taken in coordinates
    unwrapped around it (exact for a creature smaller than half the grid). NaN if empty."""
    x = np.asarray(jax.device_get(state), np.float64).sum(axis=-1)
    if x.ndim != num_spatial_dims:
        raise StateError(f"centre_of_mass expects one state (*spatial, C), got shape {np.shape(state)}")
    total = x.sum()
    if total <= 0:
        return np.full(num_spatial_dims, np.nan)
    out = []
    for axis, n in enumerate(x.shape):
        profile = x.sum(axis=tuple(a for a in range(x.ndim) if a != axis))
        coords = np.arange(n)
        theta = 2 * np.pi * coords / n
        guess = (np.arctan2((profile * np.sin(theta)).sum(), (profile * np.cos(theta)).sum())
                 * n / (2 * np.pi)) % n
        rel = (coords - guess + n / 2) % n - n / 2
        out.append((guess + (profile * rel).sum() / total) % n)
    return np.asarray(out)


def creature_metrics(trajectory: Array, num_spatial_dims: int, *, every: int = 1,
                     T: float = 1.0) -> dict[str, np.ndarray]:
    """For a trajectory ``(n, *spatial, C)`` sampled every ``every`` steps: ``mass (n,)``,
    ``centre (n, d)``, ``velocity (n-1, d)`` in cells per step (displacements wrapped to
    the nearest image), ``speed (n-1,)`` in cells per unit time (``T`` steps)."""
    traj = np.asarray(jax.device_get(trajectory))
    shape = np.asarray(traj.shape[1: 1 + num_spatial_dims], np.float64)
    centres = np.stack([centre_of_mass(s, num_spatial_dims) for s in traj])
    delta = np.diff(centres, axis=0)
    delta = (delta + shape / 2) % shape - shape / 2
    velocity = delta / every
    return {"mass": mass(traj, num_spatial_dims), "centre": centres, "velocity": velocity,
            "speed": np.linalg.norm(velocity, axis=-1) * T}


# ----------------------------------------------------------------------------- rendering
_RAMP = np.array([  # viridis, sampled at 0, 1/8, ..., 1
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]], np.float32)


def colour_ramp(values: Any) -> np.ndarray:
    """Scalars in [0, 1] -> uint8 RGB on a viridis-like ramp (piecewise-linear)."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float32)), 0.0, 1.0) * (len(_RAMP) - 1)
    lo = np.floor(v).astype(np.int64).clip(0, len(_RAMP) - 2)
    t = (v - lo)[..., None]
    rgb = _RAMP[lo] * (1 - t) + _RAMP[lo + 1] * t
    return (rgb + 0.5).astype(np.uint8)


def render_channels(img: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` in [0, 1] -> uint8 RGB (ramp for one channel, else channels as RGB)."""
    x = np.asarray(img, np.float32)
    c = x.shape[-1]
    if c == 1:
        return colour_ramp(x[..., 0])
    rgb = np.zeros(x.shape[:-1] + (3,), np.float32)
    rgb[..., : min(c, 3)] = x[..., :3]
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------- creatures
CREATURES: dict[str, dict[str, Any]] = {
    "orbium": {"code": "O2u", "dims": 2, "size": 128},
    "orbium_bicaudatus": {"code": "O2b", "dims": 2, "size": 128},
    "gyrorbium": {"code": "OG2g", "dims": 2, "size": 128},
    "scutium": {"code": "S1s", "dims": 2, "size": 128},
    "hydrogeminium": {"code": "3GH2n", "dims": 2, "size": 128},
    "life_glider": {"code": "~gldr", "dims": 2, "size": 32},
    "sphaerome": {"code": "1Sp1l", "dims": 3, "size": 64},
    "diguttome": {"code": "4Gu2s", "dims": 3, "size": 64},
    "tessellatium": {"code": "VT049W", "dims": 2, "size": 128, "builtin": True},
}
"""Registered creatures: registry name ``lenia/<key>`` -> catalogue code, dimension and
default grid side."""


def creature(name: str, *, data: Any = None) -> catalogue.Creature:
    """The catalogue creature behind the preset ``lenia/<name>``."""
    spec = CREATURES[name]
    if spec.get("builtin"):
        return catalogue.tessellatium_gyrans()
    return catalogue.find_creature(spec["code"], dims=spec["dims"], data=data)


def evaluate_creature(model: Lenia, *, data: Any = None, steps: int | None = None,
                      **options: Any) -> dict[str, Any]:
    """``cax-zoo eval lenia/<name>``: run the creature ``steps`` (default 1000) steps on its
    default grid and report its mass (start, end, range after the first quarter), whether
    it survived (mass within 50 % of the start throughout) and its speed in cells per unit
    time (mean and spread after the first quarter). ``data`` is unused."""
    if options:
        raise ConfigError(f"unknown evaluation option(s) {sorted(options)}")
    steps = 1000 if steps is None else int(steps)
    if steps < 4:
        raise ConfigError(f"steps must be >= 4, got {steps}")
    every = max(1, steps // 20)
    state = model.init_state()
    _, traj = model.rollout(state, steps, every=every, trajectory=True)
    met = model.metrics(traj, every=every)
    mass, speed = met["mass"], met["speed"]
    settled, moving = mass[len(mass) // 4:], speed[len(speed) // 4:]
    return {
        "grid": list(state.shape[:-1]),
        "steps": steps,
        "sample_every": every,
        "initial_mass": round(float(mass[0]), 4),
        "final_mass": round(float(mass[-1]), 4),
        "mass_min_max_after_first_quarter": [round(float(settled.min()), 4), round(float(settled.max()), 4)],
        "survived": bool(np.all(np.abs(mass / mass[0] - 1) < 0.5)),
        "mean_speed_cells_per_unit_time": round(float(np.mean(moving)), 4),
        "speed_std": round(float(np.std(moving)), 4),
    }


def _creature_factory(name: str):
    spec = CREATURES[name]

    def factory(**overrides):
        c = creature(name)
        overrides.setdefault("default_size", (spec["size"],) * c.num_spatial_dims)
        return Lenia.from_creature(c, **overrides)

    factory.__name__ = f"lenia_{name}"
    return factory


_DESCRIPTIONS = {
    "orbium": "Orbium unicaudatus (O2u), Lenia's archetypal glider",
    "orbium_bicaudatus": "Orbium bicaudatus (O2b), the two-tailed Orbium",
    "gyrorbium": "Gyrorbium gyrans (OG2g), an Orbium that turns in circles",
    "scutium": "Scutium solidus (S1s), a shield-shaped glider",
    "hydrogeminium": "Hydrogeminium natans (3GH2n), a three-ring-kernel creature",
    "life_glider": "Conway's glider in Lenia's Game-of-Life rule (R=2, staircase kernel)",
    "sphaerome": "Sphaerome lithos (1Sp1l), a 3-D sphere",
    "diguttome": "Diguttome saliens (4Gu2s), a 3-D four-ring creature",
    "tessellatium": "Tessellatium gyrans (VT049W, Chan's \"aquarium\"): 3 channels, 15 kernels; divides in two under its own rule",
}

for _name in CREATURES:
    register(f"lenia/{_name}", description=_DESCRIPTIONS[_name],
             tags=("continuous", "creature", f"{CREATURES[_name]['dims']}d"),
             paper="Chan 2019, Lenia: Biology of Artificial Life",
             evaluate=evaluate_creature)(_creature_factory(_name))
