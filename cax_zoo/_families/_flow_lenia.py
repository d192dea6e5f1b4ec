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
from .._grid import AbstractGridAutomaton, as_image
from .._registry import register
from ._lenia import Lenia, render_channels


def sobel_gradient(x: Float[Array, "*spatial C"]) -> Float[Array, "*spatial C d"]:
    """Periodic 3^d Sobel gradient of every channel along each of the ``d = x.ndim - 1``
    spatial axes, at the scale of Flow Lenia's un-normalised 2-D Sobel in every dimension
    (a unit ramp gives 8), so ``dt`` means the same in 1-, 2- and 3-D."""
    d = x.ndim - 1
    k = jnp.asarray(np.stack(sobel_kernels(d)) * 8.0)
    g = depthwise_conv(x, k, "periodic")
    return g.reshape(x.shape + (d,))


def reintegrate(
    mass: Float[Array, "*spatial C"], flow: Float[Array, "*spatial C d"], *, dt: float, sigma: float, dd: int,
) -> Float[Array, "*spatial C"]:
    """Reintegration tracking on a ``d``-torus: the matter of each cell moves to
    ``centre + clip(dt * flow, ±(dd - sigma))`` spread uniformly over a cube of side
    ``2 sigma``, and each cell collects the overlap of every such cube with itself.
    The overlaps of one cube sum to 1, so total mass is conserved (up to float32
    rounding, about 4e-8 of the mass per step).

    The cube's overlaps factor over the axes, so the transport runs one axis at a time:
    along the last axis first, each packet carrying its weights for the other axes
    (``(2 dd + 1)^(d - 1)`` numbers per cell and channel), then one axis after another,
    ``d (2 dd + 1)`` rolls in all."""
    d = flow.shape[-1]
    if flow.shape[:-1] != mass.shape or mass.ndim != d + 1:
        raise StateError(f"reintegrate: flow {flow.shape} must be mass {mass.shape} plus one axis "
                         f"of {mass.ndim - 1} spatial components")
    width = 2 * dd + 1
    limit = dd - sigma
    shift = jnp.clip(dt * flow, -limit, limit)  # (*spatial, C, d): target - source centre
    sig = jnp.asarray(sigma, mass.dtype)
    cap = jnp.minimum(jnp.asarray(1.0, mass.dtype), 2 * sig)
    offsets = jnp.arange(-dd, dd + 1, dtype=mass.dtype)
    # overlap of the cube with the cell at each offset, per axis: (*spatial, C, d, 2dd+1)
    o = jnp.clip(0.5 - jnp.abs(offsets - shift[..., None]) + sig, 0.0, cap)
    # normalised per source and axis by the sum actually computed (2 sigma in exact
    # arithmetic), which keeps float32 rounding from biasing the mass budget
    o = o / jnp.sum(o, axis=-1, keepdims=True)
    # each packet's weights along axes 0..d-2, as an outer product: (*spatial, C, K_0..K_{d-2})
    weights = jnp.ones(mass.shape, mass.dtype)
    for a in range(d - 1):
        weights = weights[..., None] * o[..., a, :].reshape(mass.shape + (1,) * a + (width,))
    # move along the last axis, carrying the other axes' weights
    last = o[..., d - 1, :]
    pad = (1,) * (d - 1)
    carried = jnp.zeros(weights.shape, mass.dtype)
    for j in range(width):
        carried = carried + jnp.roll((mass * last[..., j]).reshape(mass.shape + pad) * weights, j - dd, axis=d - 1)
    # then along each other axis, from the last carried one back to axis 0
    for a in reversed(range(d - 1)):
        moved = jnp.zeros(carried.shape[:-1], mass.dtype)
        for i in range(width):
            moved = moved + jnp.roll(carried[..., i], i - dd, axis=a)
        carried = moved
    return carried


@register(
    "flow_lenia",
    description="Flow Lenia: mass-conserving multi-channel Lenia in any number of dimensions, "
    "matter moved along the affinity gradient by reintegration tracking",
    paper="Plantec, Hamon, Etcheverry, Oudeyer, Moulin-Frier, Chan 2023, Flow-Lenia: Towards "
    "open-ended evolution in cellular automata through mass conservation and parameter "
    "localization (ALIFE 2023; arXiv:2212.07906)",
    tags=("continuous", "nd", "differentiable", "mass-conserving"),
)
class FlowLenia(AbstractGridAutomaton):
    """Flow Lenia on a torus of ``num_spatial_dims`` dimensions (1, 2, 3, ...). Lenia's
    kernels and growths give an affinity map ``U`` (``(*spatial, C)``, see
    :meth:`Lenia.growth_field`); matter flows along
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
        num_spatial_dims: int = 2,
        key: PRNGKeyArray | None = None,
    ):
        if isinstance(num_spatial_dims, bool) or not isinstance(num_spatial_dims, int) or num_spatial_dims < 1:
            raise ConfigError(f"num_spatial_dims must be a positive integer, got {num_spatial_dims!r}")
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
                          kernel_core=kernel_core, growth=growth, num_spatial_dims=num_spatial_dims,
                          num_channels=num_channels)
        self.dt, self.sigma, self.dd = float(dt), float(sigma), int(dd)
        self.n, self.theta_A = float(n), float(theta_A)
        self.num_spatial_dims, self.num_channels = num_spatial_dims, num_channels

    def config(self) -> dict[str, Any]:
        rc = self.rule.config()
        keys = ("R", "m", "s", "h", "r", "b", "sources", "targets", "kernel_core", "growth")
        return {"num_channels": self.num_channels, "num_spatial_dims": self.num_spatial_dims,
                **{k: rc[k] for k in keys},
                "dt": self.dt, "sigma": self.sigma, "dd": self.dd, "n": self.n, "theta_A": self.theta_A}

    # ------------------------------------------------------------------ dynamics
    def _update(self, state, kfft):
        u = self.rule.growth_field(state, kfft)
        total = state.sum(axis=-1, keepdims=True)
        grad_u = sobel_gradient(u)
        grad_a = sobel_gradient(total)  # (*spatial, 1, d)
        alpha = jnp.clip((total / self.theta_A) ** self.n, 0.0, 1.0)[..., None]
        flow = (1.0 - alpha) * grad_u - alpha * grad_a
        return reintegrate(state, flow, dt=self.dt, sigma=self.sigma, dd=self.dd)

    def step(self, state: Float[Array, "*spatial C"], input=None, *, key=None) -> Float[Array, "*spatial C"]:
        return self._update(state, None)

    def encode_state(self, state):
        return state, self.rule.kernel_fft(state.shape[: self.num_spatial_dims])

    def encoded_step(self, encoded, input=None, *, key=None):
        state, kfft = encoded
        return self._update(state, kfft), kfft

    def decode_state(self, encoded):
        return encoded[0]

    # ------------------------------------------------------------------ states
    def check_state(self, state) -> int:
        batch = super().check_state(state)
        spatial = tuple(state.shape[batch: batch + self.num_spatial_dims])
        radius = self.rule._radius()
        need = max(2 * math.ceil(radius) + 1, 2 * self.dd + 1)
        if min(spatial) < need:
            raise StateError(
                f"FlowLenia with kernel radius {radius:g} and flow window {self.dd} needs every "
                f"spatial extent >= {need}, got {spatial}")
        return batch

    def prepare_state(self, state):
        return jnp.asarray(state, jnp.float32)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None) -> Float[Array, "*spatial C"]:
        """A random soup (uniform in [0, 1]) in a centred box of side ``4R`` on an empty grid
        (default 128 per axis in 1-D and 2-D, 64 in 3-D and up), from ``key`` (default
        ``PRNGKey(0)``)."""
        shape = self.spatial_shape(size, 128 if self.num_spatial_dims <= 2 else 64)
        key = jax.random.PRNGKey(0) if key is None else key
        side = tuple(min(n, max(1, int(round(4 * self.rule.R)))) for n in shape)
        patch = jax.random.uniform(key, side + (self.num_channels,), jnp.float32)
        grid = jnp.zeros(shape + (self.num_channels,), jnp.float32)
        start = tuple((n - p) // 2 for p, n in zip(side, shape)) + (0,)
        return jax.lax.dynamic_update_slice(grid, patch, start)

    def render(self, state) -> np.ndarray:
        """1 channel: the viridis-like ramp; 2-3 channels: RGB (values clipped to [0, 1]);
        1-D states are one row, 3-D states are max-projected along their leading axes."""
        x = np.asarray(jax.device_get(state), np.float32)
        if x.ndim != self.num_spatial_dims + 1:
            raise StateError(f"FlowLenia.render expects one state of {self.num_spatial_dims} spatial "
                             f"axes plus channels, got shape {x.shape}")
        return render_channels(as_image(x, self.num_spatial_dims))

