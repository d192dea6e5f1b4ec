"""The boundary vocabulary shared by every family, and padding along spatial axes."""

from __future__ import annotations

from typing import Literal, get_args

import jax.numpy as jnp
from jaxtyping import Array

from ._errors import ConfigError

Boundary = Literal["periodic", "zero", "reflect", "edge"]
"""How a grid continues past its edge.

- ``periodic``: the grid wraps around (a torus); the default for classic CA.
- ``zero``: cells outside are zero (dead, empty).
- ``reflect``: mirrored about the edge cell (``numpy.pad(mode="reflect")``).
- ``edge``: the edge cell repeats.
"""

BOUNDARIES: tuple[str, ...] = get_args(Boundary)

_PAD_MODES = {"periodic": "wrap", "zero": "constant", "reflect": "reflect", "edge": "edge"}


def check_boundary(boundary: str) -> Boundary:
    """Return ``boundary`` if it is one of :data:`BOUNDARIES`, else raise ConfigError."""
    if not isinstance(boundary, str) or boundary not in _PAD_MODES:
        text = repr(boundary)
        raise ConfigError(
            f"unknown boundary {text if len(text) <= 40 else text[:37] + '...'}; expected one of "
            f"{', '.join(BOUNDARIES)}"
        )
    return boundary  # type: ignore[return-value]


def pad(
    x: Array, width: int | tuple[int, ...], boundary: Boundary, *, num_spatial_dims: int
) -> Array:
    """Pad the spatial axes of a channel-last array by ``width`` cells on each side.

    ``x`` has shape ``(*spatial, C)`` (or ``(*spatial,)`` when ``num_spatial_dims`` equals
    ``x.ndim``); ``width`` is one int for every spatial axis or one per axis.
    """
    if isinstance(width, int):
        width = (width,) * num_spatial_dims
    widths = [(w, w) for w in width] + [(0, 0)] * (x.ndim - num_spatial_dims)
    return jnp.pad(x, widths, mode=_PAD_MODES[check_boundary(boundary)])
