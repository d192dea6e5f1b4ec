"""Bounded resources: refuse a state, a trajectory or a buffer the machine cannot hold,
with the estimate in a one-line error, before JAX or NumPy tries to allocate it (an XLA
allocation that large aborts the process, or ends in an out-of-memory traceback).

The limit is the memory of the device JAX computes on: the accelerator's own memory when
it reports it, else the host's physical memory (capped by a cgroup limit, as in a
container), read with ``os.sysconf`` and ``/sys/fs/cgroup``.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np

from ._errors import StateError


def format_bytes(nbytes: float) -> str:
    """``1536 -> '1.5 KiB'``: a byte count as a short human-readable string."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - the loop returns


def host_memory_bytes() -> int | None:
    """Physical memory of this machine (the smaller of RAM and a cgroup limit), or None
    when the platform does not say."""
    limits = []
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and page_size > 0:
            limits.append(pages * page_size)
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < 1 << 60:
            limits.append(int(text))
    return min(limits) if limits else None


@functools.lru_cache(maxsize=1)
def device_memory_bytes() -> int | None:
    """Memory of JAX's default device: the accelerator's ``bytes_limit`` when it reports
    one, else the host's physical memory."""
    try:
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            stats = device.memory_stats() or {}
            limit = stats.get("bytes_limit")
            if isinstance(limit, int) and limit > 0:
                return limit
    except Exception:  # noqa: BLE001 - no backend information: fall back to the host
        pass
    return host_memory_bytes()


def check_memory(nbytes: int | float, what: str, *, limit: int | None = None) -> int:
    """Return ``nbytes`` if it fits in ``limit`` (default: :func:`device_memory_bytes`),
    else raise :class:`~cax_zoo.StateError` naming ``what`` and the estimate.

    ``nbytes`` is the caller's estimate of the memory ``what`` needs (a state and the
    working copies a step makes); callers pass exact Python integers, so a size like
    ``10**9 x 10**9`` is refused rather than overflowing.
    """
    if limit is None:
        limit = device_memory_bytes()
    if not math.isfinite(float(nbytes)) or nbytes < 0:
        raise StateError(f"{what}: cannot estimate its memory ({nbytes!r} bytes)")
    if limit is not None and nbytes > limit:
        raise StateError(
            f"{what} needs about {format_bytes(nbytes)} but the device JAX computes on has "
            f"{format_bytes(limit)}; use a smaller size"
        )
    return int(nbytes)


def array_bytes(shape: tuple[int, ...], itemsize: int) -> int:
    """Bytes of an array of ``shape`` with ``itemsize``-byte elements, as an exact int."""
    return math.prod(int(n) for n in shape) * int(itemsize)


def state_bytes(state) -> int:
    """Bytes of every array leaf of a state PyTree (traced or concrete)."""
    import jax

    total = 0
    for leaf in jax.tree_util.tree_leaves(state):
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        if shape is None or dtype is None:
            continue
        try:
            itemsize = np.dtype(dtype).itemsize
        except TypeError:  # a typed PRNG key array
            itemsize = 8
        total += math.prod(int(n) for n in shape) * itemsize
    return total


def check_trajectory(state, num_samples: int) -> None:
    """Refuse a rollout whose kept trajectory (``num_samples`` copies of ``state``) the
    device cannot hold."""
    check_memory(state_bytes(state) * int(num_samples), f"a trajectory of {num_samples} states")
