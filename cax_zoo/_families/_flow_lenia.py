"""Flow Lenia (Plantec et al. 2023): mass-conserving multi-channel Lenia, in which the
growth field no longer adds matter but moves it along a flow (reintegration tracking)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._blocks._conv import depthwise_conv, sobel_kernels
from .._errors import ConfigError, StateError
from .._grid import AbstractGridAutomaton
from .._registry import register
from ._lenia import Lenia, render_channels


def sobel_gradient(x: Float[Array, "H W C"]) -> Float[Array, "H W C 2"]:
    """Periodic 3x3 Sobel gradient of every channel (un-normalised, as in Flow Lenia: a unit
    ramp gives 8), components along the two spatial axes."""
    k = jnp.asarray(np.stack(sobel_kernels(2)) * 8.0)
    g = depthwise_conv(x, k, "periodic")
    return g.reshape(x.shape + (2,))


def reintegrate(
    mass: Float[Array, "H W C"], flow: Float[Array, "H W C 2"], *, dt: float, sigma: float, dd: int,
) -> Float[Array, "H W C"]:
    """Reintegration tracking on a torus: the matter of each cell moves to
    ``centre + clip(dt * flow, ±(dd - sigma))`` spread uniformly over a square of side
    ``2 sigma``, and each cell collects the overlap of every such square with itself.
    The overlaps of one square sum to 1, so total mass is conserved (up to float32
    rounding, about 4e-8 of the mass per step)."""
    limit = dd - sigma
    shift = jnp.clip(dt * flow, -limit, limit)  # (H, W, C, 2): target - source centre
    sig = jnp.asarray(sigma, mass.dtype)
    cap = jnp.minimum(jnp.asarray(1.0, mass.dtype), 2 * sig)
    offsets = jnp.arange(-dd, dd + 1, dtype=mass.dtype)
    # overlap of the square with the cell at each offset, per axis: (H, W, C, 2, 2dd+1)
    o = jnp.clip(0.5 - jnp.abs(offsets - shift[..., None]) + sig, 0.0, cap)
    # normalised per source and axis by the sum actually computed (2 sigma in exact
    # arithmetic), which keeps float32 rounding from biasing the mass budget
    o = o / jnp.sum(o, axis=-1, keepdims=True)
    wx, wy = o[..., 0, :], o[..., 1, :]
    # Move along axis 1 first, carrying each packet's axis-0 weights with it, then along
    # axis 0: the same sum over the (2dd+1)^2 targets in 2(2dd+1) rolls.
    carried = jnp.zeros(mass.shape + (2 * dd + 1,), mass.dtype)
    for j in range(2 * dd + 1):
        carried = carried + jnp.roll((mass * wy[..., j])[..., None] * wx, j - dd, axis=1)
    total = jnp.zeros_like(mass)
    for i in range(2 * dd + 1):
        total = total + jnp.roll(carried[..., i], i - dd, axis=0)
    return total


@register(
    "flow_lenia",
    description="Flow Lenia: mass-conserving multi-channel Lenia, matter moved along the "
    "affinity gradient by reintegration tracking",
    paper="Plantec, Hamon, Etcheverry, Oudeyer, Moulin-Frier, Chan 2023, Flow-Lenia: Towards "
    "open-ended evolution in cellular automata through mass conservation and parameter "
    "localization (ALIFE 2023; arXiv:2212.07906)",
    tags=("continuous", "2d", "differentiable", "mass-conserving"),
)
class FlowLenia(AbstractGridAutomaton):
    """Flow Lenia on a 2-D torus. Lenia's kernels and growths give an affinity map ``U``
    (``(H, W, C)``, see :meth:`Lenia.growth_field`); matter flows along
    ``F = (1 - alpha) grad U - alpha grad A_sum`` with ``alpha = clip((A_sum/theta_A)^n, 0, 1)``
    (crowded regions diffuse), moved by :func:`reintegrate`. Mass is conserved, so states
    are not clipped to [0, 1]. The rule arrays live in ``rule`` (a :class:`Lenia`).
    """

    rule: Lenia
    dt: float = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    dd: int = eqx.field(static=True)
    n: float = eqx.field(static=True)
    theta_A: float = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True, default=2)
    num_channels: int = eqx.field(static=True, default=1)

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(
        self,
        *,
        num_channels: int = 1,
        num_kernels: int | None = None,
        R: float = 10.0,
        m: float | Sequence[float] = 0.15,
        s: float | Sequence[float] = 0.03,
        h: float | Sequence[float] = 1.0,
        r: float | Sequence[float] = 1.0,
        b: Any = (1.0,),
        sources: Sequence[int] | None = None,
        targets: Sequence[int] | None = None,
        kernel_core: str = "gaussian",
        growth: str = "gaussian",
        dt: float = 0.2,
        sigma: float = 0.65,
        dd: int = 5,
        n: float = 2.0,
        theta_A: float = 1.0,
        key: PRNGKeyArray | None = None,
    ):
        if isinstance(num_channels, bool) or not isinstance(num_channels, int) or num_channels < 1:
            raise ConfigError(f"num_channels must be a positive integer, got {num_channels!r}")
        for name, v in (("dt", dt), ("sigma", sigma), ("n", n), ("theta_A", theta_A)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        if isinstance(dd, bool) or not isinstance(dd, int) or dd < 1:
            raise ConfigError(f"dd (the flow window) must be a positive integer, got {dd!r}")
        if sigma >= dd:
            raise ConfigError(f"sigma ({sigma}) must be smaller than dd ({dd})")
        if num_kernels is not None:
            if isinstance(num_kernels, bool) or not isinstance(num_kernels, int) or num_kernels < 1:
                raise ConfigError(f"num_kernels must be a positive integer, got {num_kernels!r}")
            c = num_channels
            if sources is None:
                sources = [k % c for k in range(num_kernels)]
            if targets is None:
                targets = [(k // c + k) % c for k in range(num_kernels)]
            if key is not None:  # a random rule (Plantec et al.'s sampling ranges)
                ks = jax.random.split(key, 5)
                u = lambda k, lo, hi: np.asarray(jax.random.uniform(k, (num_kernels,), minval=lo, maxval=hi)).tolist()
                m, s, h, r = u(ks[0], 0.05, 0.5), u(ks[1], 0.001, 0.18), u(ks[2], 0.01, 1.0), u(ks[3], 0.2, 1.0)
                b = [[float(x) for x in row] for row in np.asarray(
                    jax.random.uniform(ks[4], (num_kernels, 3), minval=0.001, maxval=1.0))]
            else:
                m, s, h, r = ([v] * num_kernels if np.isscalar(v) else v for v in (m, s, h, r))
        self.rule = Lenia(R=R, T=1.0, m=m, s=s, h=h, r=r, b=b, sources=sources, targets=targets,
                          kernel_core=kernel_core, growth=growth, num_spatial_dims=2,
                          num_channels=num_channels)
        self.dt, self.sigma, self.dd = float(dt), float(sigma), int(dd)
        self.n, self.theta_A = float(n), float(theta_A)
        self.num_spatial_dims, self.num_channels = 2, num_channels

    def config(self) -> dict[str, Any]:
        rc = self.rule.config()
        keys = ("R", "m", "s", "h", "r", "b", "sources", "targets", "kernel_core", "growth")
        return {"num_channels": self.num_channels, **{k: rc[k] for k in keys},
                "dt": self.dt, "sigma": self.sigma, "dd": self.dd, "n": self.n, "theta_A": self.theta_A}

    # ------------------------------------------------------------------ dynamics
    def _update(self, state, kfft):
        u = self.rule.growth_field(state, kfft)
        total = state.sum(axis=-1, keepdims=True)
        grad_u = sobel_gradient(u)
        grad_a = sobel_gradient(total)  # (H, W, 1, 2)
        alpha = jnp.clip((total / self.theta_A) ** self.n, 0.0, 1.0)[..., None]
        flow = (1.0 - alpha) * grad_u - alpha * grad_a
        return reintegrate(state, flow, dt=self.dt, sigma=self.sigma, dd=self.dd)

    def step(self, state: Float[Array, "H W C"], input=None, *, key=None) -> Float[Array, "H W C"]:
        return self._update(state, None)

    def encode_state(self, state):
        return state, self.rule.kernel_fft(state.shape[:2])

    def encoded_step(self, encoded, input=None, *, key=None):
        state, kfft = encoded
        return self._update(state, kfft), kfft

    def decode_state(self, encoded):
        return encoded[0]

    # ------------------------------------------------------------------ states
    def check_state(self, state) -> int:
        batch = super().check_state(state)
        spatial = tuple(state.shape[batch: batch + 2])
        radius = self.rule._radius()
        need = max(2 * math.ceil(radius) + 1, 2 * self.dd + 1)
        if min(spatial) < need:
            raise StateError(
                f"FlowLenia with kernel radius {radius:g} and flow window {self.dd} needs every "
                f"spatial extent >= {need}, got {spatial}")
        return batch

    def prepare_state(self, state):
        return jnp.asarray(state, jnp.float32)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None) -> Float[Array, "H W C"]:
        """A random soup (uniform in [0, 1]) in a centred box of side ``4R`` on an empty grid
        (default 128 x 128), from ``key`` (default ``PRNGKey(0)``)."""
        shape = self.spatial_shape(size, 128)
        key = jax.random.PRNGKey(0) if key is None else key
        side = tuple(min(n, max(1, int(round(4 * self.rule.R)))) for n in shape)
        patch = jax.random.uniform(key, side + (self.num_channels,), jnp.float32)
        grid = jnp.zeros(shape + (self.num_channels,), jnp.float32)
        start = tuple((n - p) // 2 for p, n in zip(side, shape)) + (0,)
        return jax.lax.dynamic_update_slice(grid, patch, start)

    def render(self, state) -> np.ndarray:
        """1 channel: the viridis-like ramp; 2-3 channels: RGB (values clipped to [0, 1])."""
        x = np.asarray(jax.device_get(state), np.float32)
        if x.ndim != 3:
            raise StateError(f"FlowLenia.render expects one (H, W, C) state, got shape {x.shape}")
        return render_channels(x)

