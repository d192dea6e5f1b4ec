"""What the optimiser changes: a model's arrays but the ones it only carries (a target
image, a table of targets), which a recipe holds fixed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax


def trainable_arrays(model: Any, frozen: Sequence[str] = ()) -> Any:
    """The filter spec (a PyTree of bools shaped like ``model``) of what the optimiser
    changes: every array of ``model`` except its attributes named in ``frozen`` (e.g.
    ``("target",)``), for ``eqx.partition(model, trainable_arrays(model, ("target",)))``."""
    spec = jax.tree_util.tree_map(eqx.is_array, model)
    for name in frozen:
        if not hasattr(model, name):
            raise AttributeError(f"trainable_arrays: {type(model).__name__} has no attribute {name!r} to freeze")
        spec = eqx.tree_at(lambda m, n=name: getattr(m, n), spec, replace=False)
    return spec
