"""Lenia's rule as one PyTree of arrays (CAX's ``LeniaRuleParams``): per kernel a source
and target channel, a weight, a kernel shell and a growth centre and width.

Every field has a leading kernel axis ``K``, so rules stack, slice and ``jax.vmap``
(:func:`sample_rule` draws one kernel; ``jax.vmap`` over keys draws a rule). Ring weights
``b`` are zero-padded past each kernel's ``rings`` (CAX pads with NaN and counts the
non-NaN entries: :func:`rule_from_arrays` accepts either). :meth:`LeniaRule.from_config`
is the one parser of the rule arguments every Lenia family takes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..._errors import ConfigError
from ..._validation import check_choice, check_int, check_prng_key
from ._kernels import KERNEL_CORES

MAX_KERNELS = 256
MAX_RINGS = 64
MAX_CHANNELS = 64
RULE_ARRAYS = ("m", "s", "h", "r", "b", "a", "w", "sources", "targets")
"""The rule's arrays as constructor arguments (see :func:`rule_from_arrays`)."""


class LeniaRule(eqx.Module):
    """A Lenia rule of ``K`` kernels.

    ``sources``/``targets`` ``(K,)`` int32 channel indices; ``h`` ``(K,)`` kernel weights;
    ``m``/``s`` ``(K,)`` growth centre and width; ``r`` ``(K,)`` kernel radius relative to
    ``R``; ``b`` ``(K, B)`` ring weights (or bump heights of a free kernel) and ``rings``
    ``(K,)`` how many of them are used; ``a``/``w`` ``(K, B)`` bump centres and widths (free
    kernels only, else ``None``).
    """

    sources: Int[Array, " K"]
    targets: Int[Array, " K"]
    h: Float[Array, " K"]
    m: Float[Array, " K"]
    s: Float[Array, " K"]
    r: Float[Array, " K"]
    b: Float[Array, "K B"]
    rings: Int[Array, " K"]
    a: Float[Array, "K B"] | None = None
    w: Float[Array, "K B"] | None = None

    @property
    def num_kernels(self) -> int:
        return self.m.shape[-1]

    @property
    def free(self) -> bool:
        return self.a is not None

    @classmethod
    def from_config(
        cls, *, num_channels: int, kernel_core: str, rule: Any = None, num_kernels: Any = None,
        num_rings: Any = None, key: PRNGKeyArray | None = None, default: Mapping[str, Any] | None = None,
        **arrays: Any,
    ) -> LeniaRule:
        """The rule a Lenia-family constructor was given, parsed and validated here for
        every family (``Lenia``, ``FlowLenia``), before any JAX work.

        Exactly one of: the rule ``arrays`` (:data:`RULE_ARRAYS`; ``None`` means not
        given; see :func:`rule_from_arrays`); ``rule``, a :class:`LeniaRule`; the shapes
        ``num_kernels``/``num_rings`` of a weight file (a placeholder its weights fill);
        ``num_kernels`` with ``key``, that many random kernels (:func:`sample_rule`, three
        rings or bumps). With none of them, ``default`` (arrays; else one kernel of
        :func:`rule_from_arrays`'s defaults). ``kernel_core="free"`` needs bump centres
        ``a`` and widths ``w``, and only it takes them."""
        num_channels = check_int("num_channels", num_channels, minimum=1, maximum=MAX_CHANNELS)
        free = check_choice("kernel_core", kernel_core, KERNEL_CORES) == "free"
        unknown = sorted(set(arrays) - set(RULE_ARRAYS))
        if unknown:
            raise ConfigError(f"unknown Lenia rule array(s) {unknown}; expected some of {list(RULE_ARRAYS)}")
        arrays = {n: v for n, v in arrays.items() if v is not None}
        if sum(x is not None for x in (rule, num_kernels)) + bool(arrays) > 1:
            given = [n for n, v in (("rule", rule), ("num_kernels", num_kernels)) if v is not None] + sorted(arrays)
            ways = ["as arrays (m, s, h, r, b, ...)", "as rule=",
                    "as the shapes num_kernels/num_rings of a weight file"]
            ways += ["as num_kernels with key (a random rule)"] if key is not None else []
            raise ConfigError(
                f"give the Lenia rule once: {', '.join(ways[:-1])} or {ways[-1]}, got {', '.join(given)} (a "
                "released creature keeps its rule in its weights: change it with cax_zoo.create('lenia/NAME', "
                "m=...) or eqx.tree_at)")
        if rule is not None:
            rule = check_rule(rule, num_channels)
        elif num_kernels is not None and check_prng_key("key", key) is not None:
            k = check_int("num_kernels", num_kernels, minimum=1, maximum=MAX_KERNELS)
            rule = jax.vmap(lambda kk: sample_rule(kk, num_channels=num_channels, rings=3, free=free))(
                jax.random.split(key, k))
        elif num_kernels is not None:
            rule = placeholder_rule(num_kernels, 1 if num_rings is None else num_rings, free=free)
        else:
            rule = rule_from_arrays(**(arrays or dict(default or {})), num_channels=num_channels)
        if free != rule.free:
            raise ConfigError("kernel_core 'free' needs bump centres a and widths w, and only it takes them")
        return rule


def _floats(name: str, value: Any, k: int | None) -> np.ndarray:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return np.full(k or 1, float(value), np.float64)
    try:
        out = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number or a list of numbers, got {str(value)[:60]}") from None
    if k is not None and out.size != k:
        raise ConfigError(f"{name} has {out.size} entries but there are {k} kernels")
    return out


def _ring_rows(name: str, b: Any, k: int) -> list[np.ndarray]:
    """Ring weights per kernel: one list for every kernel, or one list per kernel; a
    string of fractions ``"1,1/2"`` (Chan's catalogue) or numbers, NaN/None marking CAX's
    padding (dropped, with everything after it)."""
    from ..._data._lenia_catalogue import DataError, parse_fractions

    def row(x: Any) -> np.ndarray:
        if isinstance(x, str):
            try:
                return np.asarray(parse_fractions(x, where=name), np.float64)
            except DataError as e:
                raise ConfigError(str(e)) from None
        if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
            x = [x]
        try:
            v = np.asarray([np.nan if y is None else y for y in x], np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be lists of ring weights, got {str(x)[:60]}") from None
        pad = np.isnan(v)
        if pad.any():
            first = int(np.argmax(pad))
            if not pad[first:].all():
                raise ConfigError(f"{name}: NaN/null padding must come after every ring weight, got {v.tolist()}")
            v = v[:first]
        return v

    if isinstance(b, np.ndarray) and b.ndim == 2 or (
            isinstance(b, (list, tuple)) and b and all(isinstance(x, (list, tuple, str, np.ndarray)) for x in b)):
        rows = [row(x) for x in b]
        if len(rows) != k:
            raise ConfigError(f"{name} has ring weights for {len(rows)} kernels but there are {k} kernels")
        return rows
    return [row(b)] * k


def rule_from_arrays(
    *, m: Any = 0.15, s: Any = 0.015, h: Any = 1.0, r: Any = 1.0, b: Any = (1.0,), a: Any = None,
    w: Any = None, sources: Any = None, targets: Any = None, num_channels: int = 1,
) -> LeniaRule:
    """A validated :class:`LeniaRule` from numbers, per-kernel lists or arrays (CAX's
    NaN-padded ``kernel_b`` included). Scalars are shared by every kernel; the number of
    kernels is the length of the per-kernel lists, which must agree."""
    sizes = {}
    for name, v in (("m", m), ("s", s), ("h", h), ("r", r), ("sources", sources), ("targets", targets)):
        if v is not None and np.ndim(v) > 0 and not isinstance(v, str):
            sizes[name] = int(np.size(v))
    for name, v in (("b", b), ("a", a), ("w", w)):
        if v is not None and (isinstance(v, np.ndarray) and v.ndim == 2 or (
                isinstance(v, (list, tuple)) and v and all(isinstance(x, (list, tuple, str, np.ndarray)) for x in v))):
            sizes[name] = len(v)
    if len(set(sizes.values())) > 1:
        raise ConfigError(f"per-kernel lists disagree on the number of kernels: {sizes}")
    k = check_int("number of kernels", next(iter(sizes.values())) if sizes else 1, minimum=1, maximum=MAX_KERNELS)
    ms, ss, hs, rs = (_floats(n, v, k) for n, v in (("m", m), ("s", s), ("h", h), ("r", r)))
    if not (np.all(np.isfinite(ms)) and np.all(np.isfinite(hs))):
        raise ConfigError("m and h must be finite")
    if not np.all((ss > 0) & np.isfinite(ss)):
        raise ConfigError(f"s (growth widths) must be positive, got {ss.tolist()}")
    if not np.all((rs > 0) & np.isfinite(rs)):
        raise ConfigError(f"r (relative kernel radii) must be positive, got {rs.tolist()}")
    free = a is not None or w is not None
    if free and (a is None or w is None):
        raise ConfigError("a free kernel needs both a (bump centres) and w (bump widths)")
    bs = _ring_rows("b", b, k)
    if any(row.size == 0 for row in bs) or any(row.size > MAX_RINGS for row in bs):
        raise ConfigError(f"every kernel needs 1 to {MAX_RINGS} ring weights, got {[row.size for row in bs]}")
    if any(not (np.all(np.isfinite(row)) and np.all(row >= 0) and np.any(row > 0)) for row in bs):
        raise ConfigError("b (ring weights) must be finite, >= 0 and not all 0 for each kernel")
    width = max(row.size for row in bs)
    rings = np.asarray([row.size for row in bs], np.int32)
    padded = np.zeros((k, width), np.float32)
    for i, row in enumerate(bs):
        padded[i, : row.size] = row
    extra = {}
    if free:
        for name, v in (("a", a), ("w", w)):
            rows = _ring_rows(name, v, k)
            if [row.size for row in rows] != rings.tolist() or not all(np.all(np.isfinite(x)) for x in rows):
                raise ConfigError(f"{name} must have finite values shaped like b ({rings.tolist()} per kernel)")
            if name == "w" and not all(np.all(x > 0) for x in rows):
                raise ConfigError("w (bump widths) must be positive")
            arr = np.zeros((k, width), np.float32)
            for i, row in enumerate(rows):
                arr[i, : row.size] = row
            extra[name] = jnp.asarray(arr)
    src = np.zeros(k, np.int64) if sources is None else np.asarray(sources).reshape(-1)
    dst = np.zeros(k, np.int64) if targets is None else np.asarray(targets).reshape(-1)
    for name, idx in (("sources", src), ("targets", dst)):
        if idx.size != k or not np.issubdtype(idx.dtype, np.integer) or np.any(idx < 0) or np.any(idx >= num_channels):
            raise ConfigError(f"{name} must be {k} channel indices in [0, {num_channels}), got {idx.tolist()}")
    missing = sorted(set(range(num_channels)) - set(dst.tolist()))
    if missing:
        raise ConfigError(f"channel(s) {missing} are the target of no kernel")
    return LeniaRule(
        sources=jnp.asarray(src, jnp.int32), targets=jnp.asarray(dst, jnp.int32),
        h=jnp.asarray(hs, jnp.float32), m=jnp.asarray(ms, jnp.float32), s=jnp.asarray(ss, jnp.float32),
        r=jnp.asarray(rs, jnp.float32), b=jnp.asarray(padded), rings=jnp.asarray(rings), **extra)


def placeholder_rule(num_kernels: int, num_rings: int, *, free: bool = False) -> LeniaRule:
    """A rule of the right shapes (every kernel: channel 0 to 0, one ring), the skeleton
    that a weight file fills."""
    k = check_int("num_kernels", num_kernels, minimum=1, maximum=MAX_KERNELS)
    n = check_int("num_rings", num_rings, minimum=1, maximum=MAX_RINGS)
    zeros = jnp.zeros(k, jnp.float32)
    b = jnp.zeros((k, n), jnp.float32).at[:, 0].set(1.0)
    extra = {"a": jnp.zeros((k, n), jnp.float32), "w": jnp.ones((k, n), jnp.float32)} if free else {}
    return LeniaRule(jnp.zeros(k, jnp.int32), jnp.zeros(k, jnp.int32), zeros + 1, zeros + 0.15,
                     zeros + 0.015, zeros + 1, b, jnp.ones(k, jnp.int32), **extra)


def sample_rule(key: PRNGKeyArray, *, num_channels: int, rings: int = 3, free: bool = False) -> LeniaRule:
    """One random kernel (leading axis of size 1 removed: ``jax.vmap`` over keys gives a
    rule of ``K`` kernels), drawn as CAX's notebooks draw them: source and target channels
    uniform; weight ``h ~ U(0.01, 1)``; growth ``m ~ U(0.05, 0.5)``, ``s ~ U(0.001, 0.18)``;
    radius ``r ~ U(0.2, 1)``; ring kernels: ``1..rings`` rings of weight ``U(0.1, 1)``
    (``examples/20_lenia.ipynb``); free kernels: ``rings`` bumps of height ``U(0.001, 1)``
    at ``a ~ U(0, 1)`` with widths ``w ~ U(0.01, 0.5)`` (``21_flow_lenia.ipynb``)."""
    ks = jax.random.split(key, 9)
    n = rings
    src = jax.random.randint(ks[0], (), 0, num_channels)
    dst = jax.random.randint(ks[1], (), 0, num_channels)
    h = jax.random.uniform(ks[2], minval=0.01, maxval=1.0)
    m = jax.random.uniform(ks[3], minval=0.05, maxval=0.5)
    s = jax.random.uniform(ks[4], minval=0.001, maxval=0.18)
    r = jax.random.uniform(ks[5], minval=0.2, maxval=1.0)
    if free:
        b = jax.random.uniform(ks[6], (n,), minval=0.001, maxval=1.0)
        a = jax.random.uniform(ks[7], (n,), minval=0.0, maxval=1.0)
        w = jax.random.uniform(ks[8], (n,), minval=0.01, maxval=0.5)
        return LeniaRule(src, dst, h, m, s, r, b, jnp.asarray(n, jnp.int32), a, w)
    count = jax.random.randint(ks[7], (), 1, n + 1)
    b = jax.random.uniform(ks[6], (n,), minval=0.1, maxval=1.0)
    b = jnp.where(jnp.arange(n) < count, b, 0.0)
    return LeniaRule(src, dst, h, m, s, r, b, count.astype(jnp.int32))


def check_rule(rule: Any, num_channels: int) -> LeniaRule:
    """``rule`` if it is a :class:`LeniaRule` of consistent shapes (concrete values: channel
    indices in range)."""
    if not isinstance(rule, LeniaRule):
        raise ConfigError(f"rule must be a LeniaRule, got {type(rule).__name__}")
    k = np.shape(rule.m)
    if len(k) != 1 or not 1 <= k[0] <= MAX_KERNELS:
        raise ConfigError(f"rule.m must have shape (K,) with 1 <= K <= {MAX_KERNELS}, got {k}")
    for name in ("sources", "targets", "h", "s", "r", "rings"):
        if np.shape(getattr(rule, name)) != k:
            raise ConfigError(f"rule.{name} has shape {np.shape(getattr(rule, name))}, expected {k}")
    if np.ndim(rule.b) != 2 or np.shape(rule.b)[0] != k[0] or np.shape(rule.b)[1] > MAX_RINGS:
        raise ConfigError(f"rule.b must have shape (K, B<={MAX_RINGS}), got {np.shape(rule.b)}")
    if (rule.a is None) != (rule.w is None) or (rule.a is not None and (
            np.shape(rule.a) != np.shape(rule.b) or np.shape(rule.w) != np.shape(rule.b))):
        raise ConfigError("rule.a and rule.w must both be None or both shaped like rule.b")
    try:
        for name in ("sources", "targets"):
            idx = np.asarray(getattr(rule, name))
            if np.any(idx < 0) or np.any(idx >= num_channels):
                raise ConfigError(f"rule.{name} must be channel indices in [0, {num_channels}), got {idx.tolist()}")
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        pass
    return rule


def _finite_float(v: Any) -> float:
    """The shortest decimal that round-trips through float32 (clean JSON values)."""
    f = float(str(np.float32(v)))
    return f if math.isfinite(f) else float("nan")


def rule_as_lists(rule: LeniaRule) -> dict[str, Any]:
    """The rule as JSON-able per-kernel lists (ring weights unpadded), for model cards."""
    rings = np.asarray(rule.rings)
    out: dict[str, Any] = {
        "sources": np.asarray(rule.sources).tolist(), "targets": np.asarray(rule.targets).tolist(),
        **{n: [_finite_float(v) for v in np.asarray(getattr(rule, n))] for n in ("h", "m", "s", "r")},
        "b": [[_finite_float(v) for v in row[:n]] for row, n in zip(np.asarray(rule.b), rings)],
    }
    if rule.free:
        for n in ("a", "w"):
            out[n] = [[_finite_float(v) for v in row[:k]] for row, k in zip(np.asarray(getattr(rule, n)), rings)]
    return out
