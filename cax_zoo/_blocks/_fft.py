"""Periodic convolution of channel-last grids by FFT over the spatial axes."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Complex, Float


def centred_kernel_fft(
    kernel: Float[Array, "*spatial K"], num_spatial_dims: int
) -> Complex[Array, "*freq K"]:
    """rFFT of kernels laid out centred in a grid-sized array (the centre cell at
    ``n // 2`` along each axis), shifted so the centre is the origin."""
    axes = tuple(range(num_spatial_dims))
    shifted = jnp.fft.ifftshift(kernel, axes=axes)
    return jnp.fft.rfftn(shifted, axes=axes)


def fft_convolve(
    x: Float[Array, "*spatial C"],
    kernel_fft: Complex[Array, "*freq K"],
    num_spatial_dims: int,
) -> Float[Array, "*spatial K"]:
    """Circular convolution of ``x`` with each of K kernels given by their rFFT.

    ``x`` may have one channel (broadcast to every kernel) or K channels (paired with
    the kernels one to one).
    """
    axes = tuple(range(num_spatial_dims))
    spatial = x.shape[:num_spatial_dims]
    xf = jnp.fft.rfftn(x, axes=axes)
    return jnp.fft.irfftn(xf * kernel_fft, s=spatial, axes=axes).astype(x.dtype)
