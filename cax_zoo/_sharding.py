"""Rollouts of one grid sharded over several devices, with halo exchange between them.

A grid family whose step reads only a radius-``r`` neighbourhood says so with a ``halo``
property (``Life``: 1, ``Elementary``: its radius). :func:`sharded_rollout` splits the
grid's first spatial axis into one slab per device of a :class:`jax.sharding.Mesh` axis;
before every step each device receives ``r`` rows from each neighbour (``ppermute``: a ring
for a periodic boundary; the grid's own boundary rule on the outer edges otherwise),
steps its padded slab and keeps its own rows. A fast path whose encoding keeps the rows
(bit-packed ``Life``) runs slab by slab on the encoded rows; otherwise each slab takes the
family's reference ``step``. The result equals the single-device :meth:`~cax_zoo.AbstractAutomaton.rollout` exactly.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ._automaton import AbstractAutomaton, State, _check_count
from ._blocks._bitpack import PackedGrid
from ._boundary import pad
from ._errors import ConfigError, StateError


def _halo_of(model: AbstractAutomaton) -> int:
    halo = getattr(model, "halo", None)
    if isinstance(halo, bool) or not isinstance(halo, int) or halo < 1:
        raise ConfigError(
            f"{type(model).__name__} has no neighbourhood radius (`halo` property); "
            "sharded_rollout needs a grid family whose step reads a radius-r neighbourhood"
        )
    return halo


def sharded_rollout(
    model: AbstractAutomaton,
    state: State,
    num_steps: int,
    mesh: Mesh,
    axis_name: str | None = None,
) -> State:
    """Run ``num_steps`` steps of a grid ``state`` split over ``mesh`` along ``axis_name``.

    ``state`` is ``(*spatial, C)`` or ``(batch, *spatial, C)``; its first spatial axis is
    split into equal slabs (its size must be a multiple of the number of devices on
    ``axis_name``, and each slab at least ``model.halo`` rows). Returns the final state,
    sharded the same way (``jax.device_get`` gathers it). Deterministic families only
    (no ``input`` or ``key``).
    """
    num_steps = _check_count("num_steps", num_steps, minimum=0)
    halo = _halo_of(model)
    if not isinstance(mesh, Mesh):
        raise ConfigError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    if axis_name is None:
        axis_name = mesh.axis_names[0]
    if axis_name not in mesh.axis_names:
        raise ConfigError(f"axis {axis_name!r} is not an axis of the mesh {tuple(mesh.axis_names)}")
    batch_dims = model.check_state(state)
    num_devices = mesh.shape[axis_name]
    rows = state.shape[batch_dims]
    if rows % num_devices:
        raise StateError(
            f"the grid's first spatial axis ({rows}) must be a multiple of the {num_devices} "
            f"devices on mesh axis {axis_name!r}"
        )
    if rows // num_devices < halo:
        raise StateError(
            f"each device would hold {rows // num_devices} rows, fewer than the halo ({halo}); "
            "use fewer devices or a larger grid"
        )
    boundary = getattr(model, "boundary", "periodic")
    if boundary == "reflect" and rows // num_devices < halo + 1:
        raise StateError("a reflect boundary needs more than `halo` rows per device")
    state = model.prepare_state(state)
    spec = P(*([None] * batch_dims), axis_name)
    state = jax.device_put(state, NamedSharding(mesh, spec))
    return _sharded(model, state, num_steps, mesh, axis_name, halo, boundary, batch_dims, spec)


@eqx.filter_jit
def _sharded(model, state, num_steps, mesh, axis_name, halo, boundary, batch_dims, spec):
    num_devices = mesh.shape[axis_name]
    forward = [(i, (i + 1) % num_devices) for i in range(num_devices)]
    backward = [(i, (i - 1) % num_devices) for i in range(num_devices)]
    nsd = model.num_spatial_dims

    def step_slab(local):  # one unbatched slab (rows, *rest, C)
        h = local.shape[0]
        from_prev = jax.lax.ppermute(local[h - halo :], axis_name, forward)  # rows above mine
        from_next = jax.lax.ppermute(local[:halo], axis_name, backward)  # rows below mine
        if boundary != "periodic":
            # outer edges of the whole grid: the family's boundary rule along this axis
            widths = (halo,) + (0,) * (nsd - 1)
            edge = pad(local, widths, boundary, num_spatial_dims=nsd)
            index = jax.lax.axis_index(axis_name)
            from_prev = jnp.where(index == 0, edge[:halo], from_prev)
            from_next = jnp.where(index == num_devices - 1, edge[h + halo :], from_next)
        extended = jnp.concatenate([from_prev, local, from_next], axis=0)
        return model.step(extended)[halo : halo + h]

    def step_packed(words, width):  # one unbatched slab of bit-packed rows (rows, n)
        h = words.shape[0]
        from_prev = jax.lax.ppermute(words[h - halo :], axis_name, forward)
        from_next = jax.lax.ppermute(words[:halo], axis_name, backward)
        if boundary != "periodic":  # packed paths exist for periodic and zero only
            index = jax.lax.axis_index(axis_name)
            from_prev = jnp.where(index == 0, jnp.zeros_like(from_prev), from_prev)
            from_next = jnp.where(index == num_devices - 1, jnp.zeros_like(from_next), from_next)
        extended = PackedGrid(jnp.concatenate([from_prev, words, from_next], axis=0), width)
        return model.encoded_step(extended).words[halo : halo + h]

    def run_one(local):  # one unbatched slab
        encoded = model.encode_state(local)
        if _keeps_rows(encoded, local, nsd):  # the fast path also works slab by slab
            words = jax.lax.fori_loop(0, num_steps, lambda _, w: step_packed(w, encoded.width), encoded.words)
            return model.decode_state(PackedGrid(words, encoded.width))
        return jax.lax.fori_loop(0, num_steps, lambda _, s: step_slab(s), local)

    def run(local):
        return run_one(local) if batch_dims == 0 else jax.vmap(run_one)(local)

    return jax.shard_map(run, mesh=mesh, in_specs=(spec,), out_specs=spec)(state)


def _keeps_rows(encoded, local, num_spatial_dims: int) -> bool:
    """Whether a fast-path encoding keeps the grid's first axis as its own first axis (bit
    packing along a later axis), so halos can be swapped on the encoded rows."""
    return (
        isinstance(encoded, PackedGrid)
        and num_spatial_dims >= 2
        and encoded.words.ndim == num_spatial_dims
        and encoded.words.shape[0] == local.shape[0]
    )


def grid_mesh(num_devices: int | None = None, axis_name: str = "rows") -> Mesh:
    """A 1-D mesh over the first ``num_devices`` devices (default: all of them)."""
    devices = jax.devices()
    if num_devices is None:
        num_devices = len(devices)
    if not 1 <= num_devices <= len(devices):
        raise ConfigError(f"asked for {num_devices} devices, {len(devices)} available")
    return jax.make_mesh((num_devices,), (axis_name,), devices=devices[:num_devices])


__all__: list[Any] = ["sharded_rollout", "grid_mesh"]
