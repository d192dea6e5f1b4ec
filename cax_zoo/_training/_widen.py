"""Grow a trained model into a wider one of the same family that computes the same function
(Net2Net-style): the way to add capacity to a released model and keep what it learnt."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import numpy as np

from .._errors import ConfigError
from .._weights import weight_key


def widen(model: Any, wider: Any) -> Any:
    """``wider`` (a freshly initialised model of ``model``'s family with some layers
    wider) holding ``model``'s arrays in the leading block of each of its own.

    Weights are ``(out, in, ...)`` (the layout of :class:`~cax_zoo.nca.CellMLP` and the
    core's perceptions): new output rows keep ``wider``'s initialisation, new input
    columns are zero, so new units read the old ones but nothing reads them yet, and a
    chain of such layers whose last layer gains no outputs computes what ``model``
    computes (a family whose new channels feed old units through other paths does not:
    check the outputs). New biases keep ``wider``'s values. Every array must be at
    least as large as ``model``'s on every axis, with the same number of axes and dtype.
    """
    if type(model) is not type(wider):
        raise ConfigError(f"widen: cannot grow a {type(model).__name__} into a {type(wider).__name__}")
    old_leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(model, eqx.is_array))
    new_leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(wider, eqx.is_array))
    old = {weight_key(p): np.asarray(v) for p, v in old_leaves}
    grown = []
    for path, leaf in new_leaves:
        name = weight_key(path)
        if name not in old:
            raise ConfigError(f"widen: {name} of the wider model has no counterpart in the model")
        a, b = old.pop(name), np.array(leaf)
        if a.ndim != b.ndim or a.dtype != b.dtype or any(m > n for m, n in zip(a.shape, b.shape)):
            raise ConfigError(f"widen: {name} {a.dtype}{list(a.shape)} does not fit in {b.dtype}{list(b.shape)}")
        if b.ndim >= 2:
            b[:, a.shape[1]:] = 0
        b[tuple(slice(0, n) for n in a.shape)] = a
        grown.append(b)
    if old:
        raise ConfigError(f"widen: the wider model lacks {', '.join(sorted(old))}")
    arrays, static = eqx.partition(wider, eqx.is_array)
    treedef = jax.tree_util.tree_structure(arrays)
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, [jax.numpy.asarray(g) for g in grown]), static)
