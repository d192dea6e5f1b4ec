"""Exception types raised by cax_zoo.

Every error a user can cause (bad rule string, wrong state shape, unknown model name,
corrupt weights) is one of these, raised before any work reaches JAX, with a message that
names the offending value. The CLI turns them into a one-line message and exit status 2.
"""

from __future__ import annotations


class CaxZooError(Exception):
    """Base class of every error cax_zoo raises on bad input."""


class RuleError(CaxZooError, ValueError):
    """A rule (string, number or table) is malformed or out of range."""


class StateError(CaxZooError, ValueError):
    """A state has the wrong shape, dtype or values for the automaton given it."""


class ConfigError(CaxZooError, ValueError):
    """A model configuration is invalid (unknown key, bad value)."""


class UnknownModelError(CaxZooError, KeyError):
    """No model of that name is registered (the message suggests the closest names)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(CaxZooError, ValueError):
    """A weight file or folder is missing, corrupt, tampered with or does not fit the model."""


class DataError(CaxZooError, ValueError):
    """A dataset file is missing, malformed or fails its checksum."""


class HubError(CaxZooError, OSError):
    """The Hugging Face Hub could not be reached, or a repo is not in the local cache."""
