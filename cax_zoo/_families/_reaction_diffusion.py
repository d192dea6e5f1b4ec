"""Reaction-diffusion: the Gray-Scott model (Pearson 1993) in any number of dimensions, with
named (F, k) presets."""

from __future__ import annotations

import math
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._boundary import Boundary, check_boundary, pad
from .._blocks._conv import depthwise_conv, laplacian_kernel
from .._errors import ConfigError
from .._grid import AbstractGridAutomaton, as_image
from .._registry import register

Stencil = Literal["axial", "isotropic"]

PEARSON_DU = 2e-5 * (256 / 2.5) ** 2
"""Pearson's ``D_u = 2e-5`` on his grid (256 points over a side of 2.5) in grid units:
``0.2097``; ``D_v`` is half of it."""

PRESETS: dict[str, dict[str, float]] = {
    "mitosis": {"F": 0.0367, "k": 0.0649},  # Sims, Reaction-Diffusion Tutorial ("mitosis")
    "coral": {"F": 0.0545, "k": 0.062},  # Sims, Reaction-Diffusion Tutorial ("coral growth")
    "spots": {"F": 0.035, "k": 0.065},  # Pearson's lambda/kappa border: stable spots
}
"""Named ``(F, k)`` pairs; see docs/families/reaction_diffusion.md for their sources."""


def laplacian(x: Float[Array, "*spatial C"], stencil: str, boundary: Boundary, num_spatial_dims: int):
    """Per-channel discrete Laplacian (grid spacing 1): ``"axial"`` is the ``2d+1``-point
    stencil (the 5-point one in 2-D, Pearson's), ``"isotropic"`` the engine's ``3^d`` kernel
    (:func:`~cax_zoo.laplacian_kernel`)."""
    d = num_spatial_dims
    if stencil == "isotropic":
        return depthwise_conv(x, jnp.asarray(laplacian_kernel(d))[None], boundary)
    xp = pad(x, 1, boundary, num_spatial_dims=d)
    centre = tuple(slice(1, n + 1) for n in x.shape[:d])
    out = -2.0 * d * x
    for axis in range(d):
        for shift in (0, 2):
            idx = list(centre)
            idx[axis] = slice(shift, shift + x.shape[axis])
            out = out + xp[tuple(idx)]
    return out


@register(
    "reaction_diffusion",
    description="Gray-Scott reaction-diffusion (u, v) in any number of dimensions",
    paper="Pearson 1993, Complex patterns in a simple system (Science 261:189); "
    "Gray & Scott 1984",
    tags=("continuous", "2d", "pde"),
)
class GrayScott(AbstractGridAutomaton):
    """The Gray-Scott reaction-diffusion system, integrated by forward Euler::

        du/dt = Du lap(u) - u v^2 + F (1 - u)
        dv/dt = Dv lap(v) + u v^2 - (F + k) v

    State: ``(*spatial, 2)`` float32 with channels ``(u, v)``. Diffusion constants are in
    grid units (spacing 1): the defaults are Pearson's ``Du = 2e-5, Dv = 1e-5`` on his
    256-point grid of side 2.5 (``Du = 0.2097, Dv = 0.1049``) with ``dt = 1`` and the
    ``2d+1``-point stencil, in any number of dimensions. ``dt=None`` means 1, halved
    until forward Euler is stable (0.5 in 3-D with the default diffusion); an unstable
    explicit ``dt`` raises ConfigError.
    """

    F: float = eqx.field(static=True)
    k: float = eqx.field(static=True)
    Du: float = eqx.field(static=True)
    Dv: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    stencil: str = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    num_channels: int = eqx.field(static=True, default=2)

    state_kind = "continuous"
    state_dtype = jnp.float32

    def __init__(
        self,
        F: float = 0.0367,
        k: float = 0.0649,
        *,
        Du: float = PEARSON_DU,
        Dv: float = PEARSON_DU / 2,
        dt: float | None = None,
        stencil: Stencil = "axial",
        boundary: Boundary = "periodic",
        num_spatial_dims: int = 2,
    ):
        if isinstance(num_spatial_dims, bool) or not isinstance(num_spatial_dims, int) or num_spatial_dims < 1:
            raise ConfigError(f"reaction_diffusion: num_spatial_dims must be a positive integer, got {num_spatial_dims!r}")
        if stencil not in ("axial", "isotropic"):
            raise ConfigError(f"reaction_diffusion: stencil must be 'axial' or 'isotropic', got {stencil!r}")
        # forward Euler on pure diffusion is stable for dt * D * |lambda_max| <= 2
        lam = 4.0 * num_spatial_dims if stencil == "axial" else float(
            np.abs(np.fft.fftn(laplacian_kernel(num_spatial_dims), (4,) * num_spatial_dims,
                               axes=tuple(range(num_spatial_dims)))).max()
        )
        for name, v in {"F": F, "k": k, "Du": Du, "Dv": Dv}.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"reaction_diffusion: {name} must be a finite number >= 0, got {v!r}")
        if dt is None:  # 1, halved until stable with a 10 % margin (0.5 for Pearson's D in 3-D)
            dt = 1.0
            while dt * max(Du, Dv, 0.0) * lam > 1.8 and dt > 1e-6:
                dt /= 2
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or not dt > 0:
            raise ConfigError(f"reaction_diffusion: dt must be > 0, got {dt!r}")
        if dt * max(Du, Dv) * lam > 2.0:
            raise ConfigError(
                f"reaction_diffusion: dt * max(Du, Dv) = {dt * max(Du, Dv):.4g} is unstable for the "
                f"{stencil} stencil in {num_spatial_dims}-D (needs <= {2.0 / lam:.4g})"
            )
        self.F, self.k, self.Du, self.Dv, self.dt = (float(F), float(k), float(Du), float(Dv), float(dt))
        self.stencil = stencil
        self.boundary = check_boundary(boundary)
        self.num_spatial_dims = num_spatial_dims

    def config(self) -> dict[str, Any]:
        return {
            "F": self.F, "k": self.k, "Du": self.Du, "Dv": self.Dv, "dt": self.dt,
            "stencil": self.stencil, "boundary": self.boundary,
            "num_spatial_dims": self.num_spatial_dims,
        }

    def step(self, state: Float[Array, "*spatial 2"], input=None, *, key=None) -> Float[Array, "*spatial 2"]:
        lap = laplacian(state, self.stencil, self.boundary, self.num_spatial_dims)
        u, v = state[..., 0], state[..., 1]
        uvv = u * v * v
        du = self.Du * lap[..., 0] - uvv + self.F * (1.0 - u)
        dv = self.Dv * lap[..., 1] + uvv - (self.F + self.k) * v
        return jnp.stack([u + self.dt * du, v + self.dt * dv], axis=-1).astype(state.dtype)

    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, noise: float = 0.01):
        """Pearson's start: ``(u, v) = (1, 0)`` everywhere except a central square (cube)
        of 20 cells a side (at most half the grid) set to ``(1/2, 1/4)``, all perturbed by ``noise`` (±1 %)
        uniform noise from ``key`` (``None``: ``PRNGKey(0)``). Default size 256 per axis in
        1-D and 2-D, 64 in 3-D and above."""
        shape = self.spatial_shape(size, 256 if self.num_spatial_dims <= 2 else 64)
        key = jax.random.PRNGKey(0) if key is None else key
        u = np.ones(shape, np.float32)
        v = np.zeros(shape, np.float32)
        sl = []
        for n in shape:
            w = min(20, max(2, n // 2))
            lo = (n - w) // 2
            sl.append(slice(lo, lo + w))
        u[tuple(sl)] = 0.5
        v[tuple(sl)] = 0.25
        x = jnp.stack([jnp.asarray(u), jnp.asarray(v)], axis=-1)
        x = x * (1.0 + noise * jax.random.uniform(key, x.shape, jnp.float32, -1.0, 1.0))
        return x.astype(jnp.float32)

    def render(self, state) -> np.ndarray:
        """``v`` in a blue (low) to red/yellow (high) map, like Pearson's figures; 3-D is
        max-projected."""
        v = np.clip(as_image(state, self.num_spatial_dims)[..., 1] / 0.4, 0.0, 1.0)
        r = np.clip(2.0 * v, 0, 1)
        g = np.clip(2.0 * v - 1.0, 0, 1) * 0.9
        b = np.clip(1.0 - 2.0 * v, 0, 1) * 0.8 + 0.1 * (1 - v)
        return (np.stack([r, g, b], -1) * 255 + 0.5).astype(np.uint8)


def label_components(mask: Any, *, periodic: bool = True) -> tuple[np.ndarray, int]:
    """Label the face-connected components of a boolean array of any rank (pure numpy,
    min-label propagation; ``periodic`` wraps every axis). Returns ``(labels, count)``
    with labels ``1..count`` and 0 for background."""
    m = np.asarray(mask, bool)
    big = m.size + 1
    lab = np.where(m, np.arange(1, m.size + 1).reshape(m.shape), big)
    while True:
        new = lab
        for axis in range(m.ndim):
            for shift in (1, -1):
                nb = np.roll(lab, shift, axis)
                if not periodic:
                    edge = [slice(None)] * m.ndim
                    edge[axis] = 0 if shift == 1 else -1
                    nb[tuple(edge)] = big
                new = np.minimum(new, np.where(m, nb, big))
        # pointer jumping: follow labels to their own label (speeds up long components)
        flat = new.reshape(-1)
        roots = np.where(flat < big, flat, 1)
        jumped = np.where(flat < big, np.minimum(flat, new.reshape(-1)[roots - 1]), big)
        new = jumped.reshape(m.shape)
        if np.array_equal(new, lab):
            break
        lab = new
    ids = np.unique(lab[m])
    out = np.zeros(m.shape, np.int64)
    out[m] = np.searchsorted(ids, lab[m]) + 1
    return out, int(ids.size)


def _preset(name: str):
    def factory(**config):
        params = {**PRESETS[name], **config}
        return GrayScott(**params)

    return factory


for _name, _desc in (
    ("mitosis", "Gray-Scott spots that grow and divide (Sims' mitosis, F=0.0367, k=0.0649)"),
    ("coral", "Gray-Scott coral-like labyrinth of stripes (Sims' coral growth, F=0.0545, k=0.062)"),
    ("spots", "Gray-Scott stable spots (F=0.035, k=0.065)"),
):
    register(f"reaction_diffusion/{_name}", description=_desc, tags=("continuous", "2d", "pde"),
             paper="Pearson 1993; Sims, Reaction-Diffusion Tutorial")(_preset(_name))
