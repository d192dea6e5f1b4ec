"""Grow a trained model into a wider one of the same family that computes the same function
(Net2Net-style): the way to add capacity to a released model and keep what it learnt."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import ConfigError
from .._weights import fill_arrays, module_arrays


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
    old, grown = module_arrays(model), module_arrays(wider)
    if set(old) != set(grown):
        unmatched = sorted(set(old) ^ set(grown))
        raise ConfigError(f"widen: {', '.join(unmatched)} not in both the model and the wider model")
    for name, a in old.items():
        b = grown[name] = np.array(grown[name])
        if a.ndim != b.ndim or a.dtype != b.dtype or any(m > n for m, n in zip(a.shape, b.shape)):
            raise ConfigError(f"widen: {name} {a.dtype}{list(a.shape)} does not fit in {b.dtype}{list(b.shape)}")
        if b.ndim >= 2:
            b[:, a.shape[1]:] = 0
        b[tuple(slice(0, n) for n in a.shape)] = a
    return fill_arrays(wider, grown, source="widen")
