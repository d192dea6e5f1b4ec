"""The zoo's registry: model names -> factories (register, create, list).

The registry knows nothing of any family: a family registers its class under its family
name, a preset (a creature, a pretrained model) registers a factory function under its
own name. ``config.json`` files name the family, so any folder rebuilds through it.
Weights are not its business: loading, saving and releasing live in the pretrained layer
(``_pretrained.py``), which sits on top of this module and of the Hub client (``_hub.py``),
as timm layers ``_registry``, ``_hub`` and ``_factory``.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import inspect
import re
from collections.abc import Callable
from typing import Any

from ._automaton import AbstractAutomaton
from ._errors import CaxZooError, ConfigError, UnknownModelError
from ._keys import check_key
from ._weights import has_release

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-]*)?$")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registry entry."""

    name: str
    factory: Callable[..., AbstractAutomaton]
    description: str = ""
    family: str | None = None  # set when ``factory`` is a family class
    tags: tuple[str, ...] = ()
    paper: str | None = None
    recipe: str | None = None  # importable module path of the training recipe
    evaluate: Callable[..., dict] | None = None  # ``evaluate(model, **options) -> metrics``
    card: Any = None  # what its model cards declare (a ``cax_zoo.training.CardSpec``); opaque here

    @property
    def learned(self) -> bool:
        """Whether the model's parameters are learned (a ``neural`` tag): a fresh one is
        random, so :func:`create` needs a key and ``load`` needs released weights."""
        return "neural" in self.tags

    @property
    def takes_key(self) -> bool:
        """Whether the factory accepts ``key=`` (a parameter named so, or ``**kwargs``)."""
        try:
            params = inspect.signature(self.factory).parameters.values()
        except (TypeError, ValueError):
            return True
        return any(p.name == "key" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


_ENTRIES: dict[str, Entry] = {}
_FAMILY_OF_CLASS: dict[type, str] = {}


def register(
    name: str,
    *,
    description: str = "",
    tags: tuple[str, ...] = (),
    paper: str | None = None,
    recipe: str | None = None,
    evaluate: Callable[..., dict] | None = None,
    card: Any = None,
):
    """Decorator: register a family class or a factory function under ``name``.

    A class registers a family (``config.json`` files refer to it by that name); a
    function registers a preset whose keyword arguments override its defaults.
    """
    if not _NAME.match(name):
        raise ConfigError(f"invalid model name {name!r}: use lower-case letters, digits, _ and -, "
                          "with at most one '/'")

    def decorate(obj):
        if name in _ENTRIES and _ENTRIES[name].factory is not obj:
            raise ConfigError(f"model name {name!r} is already registered")
        is_family = isinstance(obj, type)
        if is_family:
            if not issubclass(obj, AbstractAutomaton):
                raise ConfigError(f"{obj.__name__} is not an AbstractAutomaton")
            _FAMILY_OF_CLASS[obj] = name
        doc = description or ((obj.__doc__ or "").strip().splitlines() or [""])[0]
        _ENTRIES[name] = Entry(name, obj, doc, name if is_family else None, tuple(tags), paper,
                               recipe, evaluate, card)
        return obj

    return decorate


def family_name(module: AbstractAutomaton) -> str:
    """The registered family name of a module's class."""
    try:
        return _FAMILY_OF_CLASS[type(module)]
    except KeyError:
        raise ConfigError(f"{type(module).__name__} is not a registered family") from None


def get_entry(name: str) -> Entry:
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {type(name).__name__}")
    if name in _ENTRIES:
        return _ENTRIES[name]
    raise UnknownModelError(_unknown_message(name))


def _unknown_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(_ENTRIES), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"unknown model {name!r}{hint} (cax-zoo list shows every model)"


def list_models(pattern: str | None = None, pretrained: bool | None = None) -> list[str]:
    """Registered names, sorted; ``pattern`` is a shell glob (``"lenia/*"``), and
    ``pretrained`` keeps only models with (True) or without (False) released weights."""
    names = sorted(_ENTRIES)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if pretrained is not None:
        names = [n for n in names if has_release(n) == pretrained]
    return names


def create(name: str, *, key: Any = None, **config: Any) -> AbstractAutomaton:
    """A fresh module from the registered factory.

    Models with learned parameters (neural families) need ``key``, a JAX PRNG key for
    their random initialisation, as Equinox modules do; rule families take none.
    ``config`` goes to the factory; an unknown key or a bad value is a ConfigError.
    """
    entry = get_entry(name)
    if key is not None:
        check_key(key)
        if not entry.takes_key:
            raise ConfigError(f"{name} has no random parameters and takes no key")
        config["key"] = key
    elif entry.learned:
        raise ConfigError(
            f"{name} initialises its parameters at random: pass key=jax.random.key(SEED), "
            f"or load a trained model (cax_zoo.list_models(pretrained=True))"
        )
    try:
        return entry.factory(**config)
    except CaxZooError:
        raise
    except TypeError as e:
        # unknown keyword arguments: name them instead of a bare TypeError
        if "unexpected keyword argument" in str(e) or "got an unexpected" in str(e):
            raise ConfigError(f"{name}: {e}") from None
        raise ConfigError(f"{name}: invalid config ({_first_line(e)})") from None
    except (ValueError, OverflowError) as e:
        raise ConfigError(f"{name}: invalid config ({_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    line = text.splitlines()[0] if text else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."
