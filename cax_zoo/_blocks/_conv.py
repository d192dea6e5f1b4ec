"""Depthwise convolution perception with identity, Sobel and Laplacian kernels in any dims."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._boundary import Boundary, pad
from .._errors import ConfigError
from .._validation import check_int

KernelName = Literal["identity", "sobel", "laplacian"]

MAX_DIMS = 8  # a 3**8 = 6561-entry kernel; more spatial axes than any family uses


def identity_kernel(num_spatial_dims: int) -> np.ndarray:
    """The 3^d kernel that returns the cell itself."""
    k = np.zeros((3,) * num_spatial_dims, np.float32)
    k[(1,) * num_spatial_dims] = 1.0
    return k


def sobel_kernels(num_spatial_dims: int) -> list[np.ndarray]:
    """One 3^d Sobel kernel per spatial axis: a central difference ``[-1, 0, 1]`` along that
    axis, smoothed by ``[1, 2, 1]`` along the others, normalised to an L1 norm of 1
    (so a unit ramp gives a gradient of 1; in 2-D the classic Sobel / 8)."""
    diff = np.array([-1.0, 0.0, 1.0], np.float32)
    smooth = np.array([1.0, 2.0, 1.0], np.float32)
    kernels = []
    for axis in range(num_spatial_dims):
        k = np.ones((3,) * num_spatial_dims, np.float32)
        for a in range(num_spatial_dims):
            shape = [1] * num_spatial_dims
            shape[a] = 3
            k = k * (diff if a == axis else smooth).reshape(shape)
        kernels.append(k / np.abs(k).sum())
    return kernels


def laplacian_kernel(num_spatial_dims: int) -> np.ndarray:
    """The isotropic 3^d Laplacian: the neighbour at offset ``o`` weighs ``2^(d - |o|_1)``
    and the centre the negative sum, scaled so that it maps ``x_0^2`` to 2; in 2-D this is
    the classic ``[[1, 2, 1], [2, -12, 2], [1, 2, 1]] / 4``."""
    d = num_spatial_dims
    k = np.zeros((3,) * d, np.float32)
    for o in itertools.product((-1, 0, 1), repeat=d):
        if any(o):
            k[tuple(v + 1 for v in o)] = 2.0 ** (d - sum(abs(v) for v in o))
    k[(1,) * d] = -k.sum()
    coords = np.indices(k.shape)[0] - 1
    return k * (2.0 / float((k * coords**2).sum()))


def kernel_stack(names: Sequence[KernelName], num_spatial_dims: int) -> np.ndarray:
    """Stack named kernels into ``(K, 3, ..., 3)``; ``"sobel"`` contributes one per axis."""
    num_spatial_dims = check_int("num_spatial_dims", num_spatial_dims, minimum=1, maximum=MAX_DIMS)
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ConfigError(f"perception kernels must be a non-empty list of names, got {names!r}")
    out: list[np.ndarray] = []
    for name in names:
        if name == "identity":
            out.append(identity_kernel(num_spatial_dims))
        elif name == "sobel":
            out.extend(sobel_kernels(num_spatial_dims))
        elif name == "laplacian":
            out.append(laplacian_kernel(num_spatial_dims))
        else:
            raise ConfigError(
                f"unknown perception kernel {name!r}; expected identity, sobel or laplacian"
            )
    return np.stack(out)


def depthwise_conv(
    x: Float[Array, "*spatial C"],
    kernels: Float[Array, "K *window"],
    boundary: Boundary = "periodic",
) -> Float[Array, "*spatial C*K"]:
    """Apply every kernel to every channel separately (no mixing across channels).

    Output channels are grouped per input channel: ``[c0*k0, c0*k1, ..., c1*k0, ...]``.
    """
    d = kernels.ndim - 1
    if x.ndim != d + 1:
        raise ConfigError(f"depthwise_conv: state of rank {x.ndim} does not match {d}-D kernels")
    c = x.shape[-1]
    k = kernels.shape[0]
    half = tuple(s // 2 for s in kernels.shape[1:])
    xp = pad(x, half, boundary, num_spatial_dims=d)
    spatial = "".join(chr(ord("a") + i) for i in range(d))
    dn = jax.lax.conv_dimension_numbers(
        (1,) + xp.shape, (1, 1) + kernels.shape[1:], (f"N{spatial}C", f"OI{spatial}", f"N{spatial}C")
    )
    # weights (O = C*K, I = 1, *window): for group c, the K kernels
    w = jnp.tile(jnp.asarray(kernels, x.dtype)[:, None], (c, 1) + (1,) * d)
    y = jax.lax.conv_general_dilated(
        xp[None], w, window_strides=(1,) * d, padding="VALID", dimension_numbers=dn,
        feature_group_count=c,
    )
    return y[0]


def fixed_depthwise_conv(
    x: Float[Array, "*spatial C"],
    kernels: np.ndarray,
    boundary: Boundary = "periodic",
) -> Float[Array, "*spatial C*K"]:
    """:func:`depthwise_conv` for kernels known when tracing (a numpy array): a weighted
    sum of shifted copies of the padded state, one per non-zero tap, which XLA fuses into
    one loop. On CPU it is far faster than a grouped convolution, and its gradient more so;
    results agree with :func:`depthwise_conv` to float rounding."""
    k = np.asarray(kernels, np.float32)
    d = k.ndim - 1
    if x.ndim != d + 1:
        raise ConfigError(f"fixed_depthwise_conv: state of rank {x.ndim} does not match {d}-D kernels")
    spatial = x.shape[:-1]
    xp = pad(x, tuple(s // 2 for s in k.shape[1:]), boundary, num_spatial_dims=d)
    sums: list = [None] * k.shape[0]
    for offset in np.ndindex(*k.shape[1:]):
        taps = k[(slice(None),) + offset]
        if not taps.any():
            continue
        shifted = xp[tuple(slice(o, o + n) for o, n in zip(offset, spatial))]
        for i in np.flatnonzero(taps):
            term = shifted if taps[i] == 1.0 else shifted * np.asarray(taps[i], x.dtype)
            sums[i] = term if sums[i] is None else sums[i] + term
    out = [jnp.zeros_like(x) if t is None else t for t in sums]
    return jnp.stack(out, axis=-1).reshape(spatial + (x.shape[-1] * k.shape[0],))
