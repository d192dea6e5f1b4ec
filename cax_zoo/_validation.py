"""One set of validators for configuration values, wherever they come from (a family's
constructor, a release's ``config.json``, a Hub repo, ``--config key=value``).

Each returns the value converted to its Python type or raises ``ConfigError`` naming the
field, the value and the allowed range, before any JAX work. Bounds keep a downloaded config
from asking for absurd compute or memory.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from ._errors import ConfigError

INT32_MAX = 2**31 - 1
MAX_STEPS = 10_000_000  # default step counts a config may ask for
MAX_CHANNELS = 4096
MAX_HIDDEN = 65_536


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
