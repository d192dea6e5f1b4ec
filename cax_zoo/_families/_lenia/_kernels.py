"""Lenia's kernel cores, growth functions and kernel shells (Chan 2019, 2020; CAX's
``cax.cs.lenia.kernel`` and ``growth``), as pure functions of arrays."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..._errors import ConfigError

KERNEL_CORES = ("polynomial", "exponential", "rectangular", "staircase", "gaussian", "free")
"""Kernel cores: Chan's catalogue ``kn`` = 1..4 are the first four; ``gaussian`` is the
expanded universe's bump (CAX's default); ``free`` is CAX's ``FreeKernelParams`` kernel, a
sum of Gaussian bumps at free positions (Plantec et al. 2023)."""

GROWTHS = ("polynomial", "gaussian", "rectangular", "exponential")
"""Growth functions: the catalogue's ``gn`` = 1..3; ``exponential`` is CAX's name for the
Gaussian growth ``2 exp(-(u-m)^2 / (2 s^2)) - 1`` (the same function as ``gaussian``)."""


def bell(x: Array, mean: Array, std: Array) -> Array:
    """``exp(-((x - mean) / std)^2 / 2)``."""
    return jnp.exp(-0.5 * ((x - mean) / std) ** 2)


def kernel_core(x: Array, core: str) -> Array:
    """A kernel core on ``x`` in [0, 1) (position inside a ring): ``polynomial``
    ``(4x(1-x))^4``, ``exponential`` ``exp(4 - 1/(x(1-x)))``, ``rectangular`` (1 on
    [1/4, 3/4]), ``staircase`` (rectangular plus 1/2 below 1/4; Game of Life) and
    ``gaussian`` ``bell(x, 1/2, 0.15)``."""
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
        return bell(x, 0.5, 0.15)
    raise ConfigError(f"unknown ring kernel core {core!r}; expected one of {', '.join(KERNEL_CORES[:-1])}")


def growth_function(u: Array, m: Array, s: Array, growth: str) -> Array:
    """Growth in [-1, 1] of potential ``u`` around ``m`` with width ``s``: ``polynomial``
    ``2 max(0, 1 - (u-m)^2/(9s^2))^4 - 1``, ``gaussian``/``exponential``
    ``2 bell(u, m, s) - 1``, ``rectangular`` ``2 [|u-m| <= s] - 1``."""
    if growth == "polynomial":
        return 2.0 * jnp.maximum(0.0, 1.0 - (u - m) ** 2 / (9.0 * s**2)) ** 4 - 1.0
    if growth in ("gaussian", "exponential"):
        return 2.0 * bell(u, m, s) - 1.0
    if growth == "rectangular":
        return 2.0 * (jnp.abs(u - m) <= s).astype(u.dtype) - 1.0
    raise ConfigError(f"unknown growth function {growth!r}; expected one of {', '.join(GROWTHS)}")


def ring_kernel(radius: Float[Array, "*spatial"], r: Float[Array, ""], b: Float[Array, " B"],
                rings: Int[Array, ""], core: str) -> Float[Array, "*spatial"]:
    """One ring-weighted kernel shell at ``radius`` (distance over the kernel radius):
    with ``n = rings`` rings and ``x = n radius / r``, ``b[min(floor(x), n-1)] core(x mod 1)``
    inside ``radius < r``, 0 outside (CAX's ``get_kernel_fn``; ``b`` beyond ``rings`` is
    padding and never read)."""
    n = rings.astype(radius.dtype)
    x = radius * n / r
    ring = jnp.minimum(jnp.floor(x), n - 1.0).astype(jnp.int32)
    weight = jnp.take(b, jax.lax.stop_gradient(ring), mode="clip")
    return jnp.where(radius < r, weight * kernel_core(x - jnp.floor(x), core), 0.0)


def free_kernel(radius: Float[Array, "*spatial"], r: Float[Array, ""], b: Float[Array, " J"],
                a: Float[Array, " J"], w: Float[Array, " J"]) -> Float[Array, "*spatial"]:
    """CAX's free kernel: ``sigmoid(-10 (radius - 1)) sum_j b_j bell(radius / r, a_j, w_j)``
    (a soft cut at the kernel radius, bumps of height ``b`` at ``a r`` with widths ``w r``)."""
    bumps = bell((radius / r)[..., None], a, w)
    return jax.nn.sigmoid(-10.0 * (radius - 1.0)) * jnp.sum(b * bumps, axis=-1)


def offset_distance(spatial: Sequence[int]) -> np.ndarray:
    """Euclidean distance of every cell from the origin on a periodic grid laid out for an
    FFT (offsets ``0, 1, ..., -2, -1`` along each axis)."""
    grids = np.meshgrid(*[np.fft.fftfreq(n, 1.0 / n) for n in spatial], indexing="ij")
    return np.sqrt(sum(g.astype(np.float64) ** 2 for g in grids)).astype(np.float32)
