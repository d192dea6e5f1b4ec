"""One set of validators for configuration values, wherever they come from (a family's
constructor, a release's ``config.json``, a Hub repo, ``--config key=value``).

Each returns the value converted to its Python type or raises ``ConfigError`` naming the
field, the value and the allowed range, before any JAX work. Bounds keep a downloaded config
from asking for absurd compute or memory.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import numbers
from collections.abc import Callable, Collection, Iterable
from typing import Any

import numpy as np

from ._errors import ConfigError

INT32_MAX = 2**31 - 1
MAX_STEPS = 10_000_000  # default step counts a config may ask for
MAX_CHANNELS = 4096
MAX_HIDDEN = 65_536


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def refuse_options(options: Collection[str]) -> None:
    """One-line ConfigError naming evaluation options (``--limit``, ``--indices``, ...) that
    an evaluation has no use for: refused, never silently ignored."""
    if options:
        raise ConfigError(f"unknown evaluation option(s) {sorted(options)}")


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = INT32_MAX) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (bools and non-integral floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)
        else:
            raise ConfigError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
                open_minimum: bool = False, open_maximum: bool = False) -> float:
    """``value`` as a finite ``float`` within the bounds (``open_*`` excludes the bound)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (open_minimum and value == minimum)):
        raise ConfigError(f"{name} must be {'>' if open_minimum else '>='} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (open_maximum and value == maximum)):
        raise ConfigError(f"{name} must be {'<' if open_maximum else '<='} {maximum}, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a ``bool`` (0/1 and strings refused: they hide typos)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {_describe(value)}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, (str, int, float, bool, type(None))) or value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, got {_describe(value)}")
    return value


def check_str(name: str, value: Any, *, max_length: int = 10_000) -> str:
    """``value`` if it is a string of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {_describe(value)}")
    if len(value) > max_length:
        raise ConfigError(f"{name} is {len(value)} characters long; the limit is {max_length}")
    return value


def check_int_tuple(name: str, value: Any, *, length: int | None = None, minimum: int | None = None,
                    maximum: int | None = INT32_MAX, max_length: int = 64) -> tuple[int, ...]:
    """``value`` (a list or tuple of integers) as a tuple, each element checked."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list of integers, got {_describe(value)}")
    if length is not None and len(value) != length:
        raise ConfigError(f"{name} must have {length} entries, got {len(value)}")
    if len(value) > max_length:
        raise ConfigError(f"{name} has {len(value)} entries; the limit is {max_length}")
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum, maximum=maximum) for i, v in enumerate(value))


def check_float_tuple(name: str, value: Any, *, length: int | None = None, minimum: float | None = None,
                      maximum: float | None = None, max_length: int = 4096) -> tuple[float, ...]:
    """``value`` (a list or tuple of numbers) as a tuple of finite floats, each checked."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name} must be a list of numbers, got {_describe(value)}")
    if length is not None and len(value) != length:
        raise ConfigError(f"{name} must have {length} entries, got {len(value)}")
    if len(value) > max_length:
        raise ConfigError(f"{name} has {len(value)} entries; the limit is {max_length}")
    return tuple(check_float(f"{name}[{i}]", v, minimum=minimum, maximum=maximum) for i, v in enumerate(value))


# ---------------------------------------------------------------- whole configs
MAX_CONFIG_DEPTH = 16
MAX_CONFIG_ITEMS = 100_000
MAX_CONFIG_STRING = 100_000


def check_config(family: str, config: Any, factory: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The generic guard every configuration passes before a family builds from it.

    ``config`` must be a JSON-like object (``str`` keys; values ``None``, bool, int,
    finite float, str, lists and objects), nested at most :data:`MAX_CONFIG_DEPTH` deep
    with at most :data:`MAX_CONFIG_ITEMS` values, and, when ``factory`` (the family class
    or preset function) is given and takes no ``**kwargs``, name only its keyword
    arguments. The family's constructor then checks each field's type and range with the
    validators above. Returns ``config``; raises :class:`~cax_zoo.ConfigError` naming
    the family and the field.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{family}: a config must be a JSON object of field: value, got {_describe(config)}")
    count = [0]
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigError(f"{family}: config field names must be strings, got {_describe(key)}")
        _check_json_value(f"{family} config field {key!r}", value, 1, count)
    if factory is not None:
        accepted = _keyword_names(factory)
        if accepted is not None:
            unknown = sorted(set(config) - accepted)
            if unknown:
                raise ConfigError(
                    f"{family}: unknown config field(s) {', '.join(map(repr, unknown))}; "
                    f"accepted: {', '.join(sorted(accepted)) or 'none'}"
                )
    return config


def _check_json_value(where: str, value: Any, depth: int, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_CONFIG_ITEMS:
        raise ConfigError(f"{where}: the config holds more than {MAX_CONFIG_ITEMS} values")
    if depth > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{where}: nested more than {MAX_CONFIG_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be finite, got {value}")
        return
    if isinstance(value, str):
        if len(value) > MAX_CONFIG_STRING:
            raise ConfigError(f"{where} is a string of {len(value)} characters; the limit is {MAX_CONFIG_STRING}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json_value(f"{where}[{i}]", v, depth + 1, count)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where}: object keys must be strings, got {_describe(k)}")
            _check_json_value(f"{where}[{k!r}]", v, depth + 1, count)
        return
    raise ConfigError(f"{where} must be a JSON value (null, bool, number, string, list or object), "
                      f"got {type(value).__name__}")


def _keyword_names(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword arguments ``factory`` accepts, or None if it takes ``**kwargs`` (or has no
    inspectable signature)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                  inspect.Parameter.KEYWORD_ONLY)}


# ---------------------------------------------------------------- sizes and keys
def check_size(name: str, value: Any, *, num_dims: int, maximum: int = INT32_MAX,
               error: type[Exception] = ConfigError) -> tuple[int, ...]:
    """A spatial size: one positive int (every axis) or one per axis, as a tuple of
    ``num_dims`` ints in ``[1, maximum]``. Strings such as ``"8x8"``, floats and bools are
    refused (raised as ``error``)."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise error(f"{name} must be a positive integer or a tuple of {num_dims}, got {_describe(value)}")
    if isinstance(value, (numbers.Integral,)):
        value = (value,) * num_dims
    if not isinstance(value, (tuple, list)) or len(value) != num_dims:
        raise error(f"{name} must be a positive integer or a tuple of {num_dims} positive integers, "
                    f"got {_describe(value)}")
    out = []
    for v in value:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or not 1 <= int(v) <= maximum:
            raise error(f"{name} must hold {num_dims} integer extent(s) in 1..{maximum}, got {_describe(value)}")
        out.append(int(v))
    return tuple(out)


# ---------------------------------------------------------------- JSON text
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings ignored), counted
    without parsing, so a 100,000-deep document is refused before ``json`` recurses."""
    b = np.frombuffer(_JSON_STRING.sub('""', text).encode("utf-8", "replace"), np.uint8)
    if b.size == 0:
        return 0
    step = np.isin(b, (0x5B, 0x7B)).astype(np.int64) - np.isin(b, (0x5D, 0x7D))
    return int(np.cumsum(step).max(initial=0))


def parse_json(raw: str | bytes, *, what: str, max_depth: int = MAX_CONFIG_DEPTH,
               error: type[Exception] = ConfigError) -> Any:
    """Parse JSON strictly, as one-line ``error``s naming ``what``: bad UTF-8, bad JSON,
    nesting deeper than ``max_depth``, numbers beyond Python's digit limit, NaN/Infinity."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise error(f"{what} is not UTF-8 text: {e}") from None
    depth = json_depth(raw)
    if depth > max_depth:
        raise error(f"{what} is JSON nested {depth} levels deep; the limit is {max_depth}")

    def refuse_constant(name: str):
        raise ValueError(f"{name} is not a JSON number")

    try:
        return json.loads(raw, parse_constant=refuse_constant)
    except json.JSONDecodeError as e:
        raise error(f"{what} is not valid JSON: {e}") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4300 digits
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise error(f"{what} is not valid JSON: {text[:120]}") from None


def check_prng_key(name: str, key: Any, *, optional: bool = True,
                   error: type[Exception] = ConfigError) -> Any:
    """``key`` if it is one JAX PRNG key (``jax.random.key(0)`` or the raw ``uint32 (2,)``
    of ``jax.random.PRNGKey(0)``); ``None`` passes when ``optional``. Ints and strings are
    refused: a seed goes through ``jax.random.key(seed)`` explicitly. (The check itself
    lives in :func:`cax_zoo._keys.check_key`.)"""
    if key is None:
        if optional:
            return None
        raise error(f"{name} is required: pass a PRNG key such as jax.random.key(0)")
    from ._keys import check_key

    return check_key(key, name=name, error=error)
