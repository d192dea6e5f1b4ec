"""Measures of a Lenia creature: mass, periodic centre of mass, velocity and speed."""

from __future__ import annotations

import jax
import numpy as np
from jaxtyping import Array

from ..._errors import StateError


def mass(state: Array, num_spatial_dims: int) -> np.ndarray:
    """Total mass (sum over space and channels) of ``(..., *spatial, C)``."""
    x = np.asarray(jax.device_get(state), np.float64)
    return x.sum(axis=tuple(range(x.ndim - num_spatial_dims - 1, x.ndim)))


def centre_of_mass(state: Array, num_spatial_dims: int) -> np.ndarray:
    """Centre of mass ``(d,)`` in cells of one state on a periodic grid: the circular mean
    along each axis locates the creature, then the plain centroid is taken in coordinates
    unwrapped around it (exact for a creature smaller than half the grid). NaN if empty."""
    x = np.asarray(jax.device_get(state), np.float64).sum(axis=-1)
    if x.ndim != num_spatial_dims:
        raise StateError(f"centre_of_mass expects one state (*spatial, C), got shape {np.shape(state)}")
    total = x.sum()
    if total <= 0:
        return np.full(num_spatial_dims, np.nan)
    out = []
    for axis, n in enumerate(x.shape):
        profile = x.sum(axis=tuple(a for a in range(x.ndim) if a != axis))
        coords = np.arange(n)
        theta = 2 * np.pi * coords / n
        guess = (np.arctan2((profile * np.sin(theta)).sum(), (profile * np.cos(theta)).sum())
                 * n / (2 * np.pi)) % n
        rel = (coords - guess + n / 2) % n - n / 2
        out.append((guess + (profile * rel).sum() / total) % n)
    return np.asarray(out)


def creature_metrics(trajectory: Array, num_spatial_dims: int, *, every: int = 1,
                     T: float = 1.0) -> dict[str, np.ndarray]:
    """For a trajectory ``(n, *spatial, C)`` sampled every ``every`` steps: ``mass (n,)``,
    ``centre (n, d)``, ``velocity (n-1, d)`` in cells per step (displacements wrapped to
    the nearest image), ``speed (n-1,)`` in cells per unit time (``T`` steps)."""
    traj = np.asarray(jax.device_get(trajectory))
    shape = np.asarray(traj.shape[1: 1 + num_spatial_dims], np.float64)
    centres = np.stack([centre_of_mass(s, num_spatial_dims) for s in traj])
    delta = np.diff(centres, axis=0)
    delta = (delta + shape / 2) % shape - shape / 2
    velocity = delta / every
    return {"mass": mass(traj, num_spatial_dims), "centre": centres, "velocity": velocity,
            "speed": np.linalg.norm(velocity, axis=-1) * T}
