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
from ._validation import check_int


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
    *,
    exchange_every: int | None = None,
) -> State:
    """Run ``num_steps`` steps of a grid ``state`` split over ``mesh`` along ``axis_name``.

    ``state`` is ``(*spatial, C)`` or ``(batch, *spatial, C)``; its first spatial axis is
    split into equal slabs (its size must be a multiple of the number of devices on
    ``axis_name``, and each slab at least ``model.halo`` rows). Returns the final state,
    sharded the same way (``jax.device_get`` gathers it). Deterministic families only
    (no ``input`` or ``key``).

    ``exchange_every`` (``k``) is how many steps run between halo exchanges: each exchange
    sends ``k * halo`` rows to each neighbour and each device then steps its slab widened
    by those rows ``k`` times, recomputing them (``2 * k * halo`` extra rows per slab) in
    exchange for ``k`` times fewer synchronisations. The default picks the largest ``k <=
    32`` whose extra rows stay within an eighth of the slab (1 for small slabs); any ``k``
    gives the same result.
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
    slab = rows // num_devices
    if slab < halo:
        raise StateError(
            f"each device would hold {slab} rows, fewer than the halo ({halo}); "
            "use fewer devices or a larger grid"
        )
    boundary = getattr(model, "boundary", "periodic")
    if boundary == "reflect" and slab < halo + 1:
        raise StateError("a reflect boundary needs more than `halo` rows per device")
    most = slab // halo  # the rows sent must come from the neighbour's own slab
    if exchange_every is None:
        exchange_every = max(1, min(32, slab // (16 * halo)))
    else:
        exchange_every = check_int("exchange_every", exchange_every, minimum=1)
        if exchange_every > most:
            raise ConfigError(
                f"exchange_every={exchange_every} needs {exchange_every * halo} halo rows from each "
                f"neighbour, more than its {slab} rows; use at most {most}"
            )
    state = model.prepare_state(state)
    spec = P(*([None] * batch_dims), axis_name)
    state = jax.device_put(state, NamedSharding(mesh, spec))
    return _sharded(model, state, num_steps, mesh, axis_name, halo, boundary, batch_dims, spec, exchange_every)


@eqx.filter_jit
def _sharded(model, state, num_steps, mesh, axis_name, halo, boundary, batch_dims, spec, every):
    num_devices = mesh.shape[axis_name]
    forward = [(i, (i + 1) % num_devices) for i in range(num_devices)]
    backward = [(i, (i - 1) % num_devices) for i in range(num_devices)]
    nsd = model.num_spatial_dims
    blocks, rest = divmod(num_steps, every)

    def widen(local, width):
        """The slab with ``width`` rows of each neighbour above and below it."""
        h = local.shape[0]
        from_prev = jax.lax.ppermute(local[h - width :], axis_name, forward)  # rows above mine
        from_next = jax.lax.ppermute(local[:width], axis_name, backward)  # rows below mine
        return jnp.concatenate([from_prev, local, from_next], axis=0)

    def fix_edges(wide, width, outside):
        """On the devices at the grid's outer edges, the rows past the edge as ``outside``
        (the inner rows -> the padded rows) makes them; elsewhere ``wide`` unchanged."""
        if boundary == "periodic":
            return wide
        index = jax.lax.axis_index(axis_name)
        # the rule reads at most width + 1 rows next to the edge (reflect)
        top = outside(wide[width : 2 * width + 1], width)[:width]
        bottom = outside(wide[-2 * width - 1 : -width], width)[-width:]
        wide = wide.at[:width].set(jnp.where(index == 0, top, wide[:width]))
        return wide.at[-width:].set(jnp.where(index == num_devices - 1, bottom, wide[-width:]))

    def block(local, k, step, outside):
        """``k`` steps of one slab from one exchange of ``k * halo`` rows each way: the rows
        a step gets wrong at the widened slab's ends move ``halo`` rows inward per step, so
        after ``k`` steps the slab's own rows are exact."""
        width = k * halo
        h = local.shape[0]

        def sub_step(_, wide):
            return step(fix_edges(wide, width, outside))

        wide = jax.lax.fori_loop(0, k, sub_step, widen(local, width))
        return wide[width : width + h]

    def run_steps(local, step, outside):
        local = jax.lax.fori_loop(0, blocks, lambda _, s: block(s, every, step, outside), local)
        return block(local, rest, step, outside) if rest else local

    def pad_rows(x, width):  # the family's boundary rule along this axis
        return pad(x, (width,) + (0,) * (nsd - 1), boundary, num_spatial_dims=nsd)

    def zero_rows(x, width):  # packed paths exist for periodic and zero only
        return jnp.zeros((x.shape[0] + 2 * width, *x.shape[1:]), x.dtype)

    def run_one(local):  # one unbatched slab
        encoded = model.encode_state(local)
        if _keeps_rows(encoded, local, nsd):  # the fast path also works slab by slab
            width = encoded.width
            step = lambda words: model.encoded_step(PackedGrid(words, width)).words  # noqa: E731
            return model.decode_state(PackedGrid(run_steps(encoded.words, step, zero_rows), width))
        return run_steps(local, model.step, pad_rows)

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
