"""Data-parallel training with JAX's own SPMD engine (no ``pmap``).

A recipe with ``devices > 1`` builds a 1-D :class:`jax.sharding.Mesh` with the axis
``"batch"``, *replicates* the model and the optimiser state on every device and *shards*
the sample pool (and any per-batch arrays) along its leading axis. The recipe's
``eqx.filter_jit`` train step then compiles to one SPMD program (GSPMD): each device rolls
out its slice of the batch, and the gradient of the batch-mean loss is all-reduced by the
compiler. :func:`constrain_leading` pins the batch's layout inside the step.

Pure helpers; every check raises :class:`~cax_zoo.ConfigError` before any JAX work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from .._errors import ConfigError
from .._weights import weight_key

AXIS = "batch"


def resolve_devices(devices: Any) -> int:
    """The number of devices a recipe's ``devices`` config asks for: ``0`` means all of
    ``jax.devices()``; more than exist, a negative or a non-integer value is an error."""
    if isinstance(devices, bool) or not isinstance(devices, (int, np.integer)) or devices < 0:
        raise ConfigError(f"devices must be an integer >= 0 (0 = all devices), got {devices!r}")
    available = len(jax.devices())
    if devices > available:
        raise ConfigError(
            f"devices={devices} but only {available} {jax.default_backend()} device(s) exist; "
            "use devices=0 for all of them (on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N "
            "set before JAX starts makes N devices)"
        )
    return int(devices) or available


def data_mesh(devices: Any, *, divides: Mapping[str, int] = {}) -> Mesh | None:  # noqa: B006
    """A 1-D mesh over the first ``resolve_devices(devices)`` devices, axis ``"batch"``,
    or ``None`` for one device (the plain single-device run). Each entry of ``divides``
    (config key -> value, e.g. ``{"batch_size": 8}``) must be a multiple of the count."""
    n = resolve_devices(devices)
    for key, value in divides.items():
        if int(value) % n:
            raise ConfigError(f"{key}={value} must be divisible by the number of devices ({n})")
    if n == 1:
        return None
    return Mesh(np.array(jax.devices()[:n]), (AXIS,))


def _map_arrays(fn, tree: Any) -> Any:
    dynamic, static = eqx.partition(tree, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(dynamic)
    leaves = [fn(weight_key(path) if path else "<root>", leaf) for path, leaf in leaves]
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, leaves), static)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Every array leaf of ``tree`` copied to every device of ``mesh``."""
    sharding = NamedSharding(mesh, P())
    return _map_arrays(lambda name, x: jax.device_put(x, sharding), tree)


def _check_leading(name: str, x: Any, n: int) -> None:
    if x.ndim == 0 or x.shape[0] % n:
        raise ConfigError(
            f"cannot shard {name} (shape {tuple(x.shape)}) over {n} devices: its leading axis "
            f"must be a multiple of {n}"
        )


def shard_leading(tree: Any, mesh: Mesh) -> Any:
    """Every array leaf of ``tree`` split along its leading axis over the ``"batch"`` axis
    of ``mesh`` (each device holds ``shape[0] / n`` entries)."""
    n = mesh.shape[AXIS]
    sharding = NamedSharding(mesh, P(AXIS))

    def put(name, x):
        _check_leading(name, x, n)
        return jax.device_put(x, sharding)

    return _map_arrays(put, tree)


def constrain_leading(tree: Any, mesh: Mesh | None) -> Any:
    """Inside a jitted step: ask the compiler to keep every array leaf split along its
    leading axis over ``mesh`` (so each device computes its slice of the batch). A no-op
    when ``mesh`` is None."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, P(AXIS))
    return _map_arrays(lambda name, x: jax.lax.with_sharding_constraint(x, sharding), tree)


def constrain_replicated(tree: Any, mesh: Mesh | None) -> Any:
    """Inside a jitted step: keep every array leaf replicated over ``mesh`` (no-op for None)."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, P())
    return _map_arrays(lambda name, x: jax.lax.with_sharding_constraint(x, sharding), tree)


def to_host_default(tree: Any) -> Any:
    """Every array leaf gathered and placed on the default device as an ordinary
    (uncommitted) array, as a single-device run would hold it."""
    return _map_arrays(lambda name, x: jnp.asarray(np.asarray(jax.device_get(x))), tree)
