"""Checking PRNG keys where users pass them (``create(..., key=)``, ``rollout(..., key=)``),
so an int, a string or a float array gets a one-line error instead of a JAX traceback."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from ._errors import ConfigError


def _describe(value: Any) -> str:
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"an array of dtype {np.dtype(value.dtype).name if not _is_typed(value) else value.dtype} " \
               f"and shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_typed(value: Any) -> bool:
    return jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key)


def check_key(key: Any, *, name: str = "key", batch_shape: tuple[int, ...] = (),
              error: type[Exception] = ConfigError) -> jax.Array:
    """``key`` if it is a JAX PRNG key (``jax.random.key(0)``, or a raw ``jax.random.PRNGKey(0)``
    of dtype uint32 and shape ``(2,)``), with ``batch_shape`` leading axes; else ``error``."""
    hint = f"{name} must be a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0)"
    if isinstance(key, (str, bytes, bool, int, float, complex)) or not (
            hasattr(key, "dtype") and hasattr(key, "shape")):
        raise error(f"{hint}, got {_describe(key)}")
    if _is_typed(key):
        if tuple(key.shape) != tuple(batch_shape):
            raise error(f"{hint} of shape {tuple(batch_shape)}, got {_describe(key)}")
        return key
    raw_shape = tuple(jax.random.PRNGKey(0).shape)
    if np.dtype(key.dtype) != np.uint32 or tuple(key.shape) != tuple(batch_shape) + raw_shape:
        raise error(f"{hint}, got {_describe(key)}")
    return key
