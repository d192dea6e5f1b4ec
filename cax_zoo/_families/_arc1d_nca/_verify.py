"""Checking candidate outputs against what a task's demonstrations keep: invariants of an
input -> output pair (colour counts, the non-zero cells, the runs of one colour, ...) that
hold on every demonstration must hold on the test input and its predicted output too.
A candidate that breaks one is dropped before the vote; no learning, no task-type labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..._errors import ConfigError, DataError
from ._generate import colour_runs


def _colour_counts(x, y):
    return all((x == c).sum() == (y == c).sum() for c in set(np.unique(x)) | set(np.unique(y)) if c != 0)


def _singletons_kept(x, y):
    once = [c for c in np.unique(x) if c != 0 and (x == c).sum() == 1]
    return all(np.all(y[x == c] == c) for c in once)


INVARIANTS: dict[str, Callable[[np.ndarray, np.ndarray], bool]] = {
    "colour_counts": _colour_counts,
    "nonzero_count": lambda x, y: (x != 0).sum() == (y != 0).sum(),
    "nonzero_cells": lambda x, y: np.array_equal(x != 0, y != 0),
    "background_kept": lambda x, y: bool(np.all(y[x == 0] == 0)),
    "no_new_colours": lambda x, y: set(np.unique(y)) <= set(np.unique(x)),
    "singletons_kept": _singletons_kept,
    "run_count": lambda x, y: len(colour_runs(x)) == len(colour_runs(y)),
    "run_lengths": lambda x, y: sorted(n for _, n, _ in colour_runs(x)) == sorted(n for _, n, _ in colour_runs(y)),
}
"""Invariants of an input -> output pair of rows of equal length (a pair of unequal lengths
keeps none): each colour's count, the number of non-zero cells, which cells are non-zero,
zeros staying zero, no colour the input lacks, cells of a colour that occurs once keeping
it, the number of one-colour runs and their lengths (as a multiset)."""


def _holds(name: str, x: np.ndarray, y: np.ndarray) -> bool:
    return len(x) == len(y) and bool(INVARIANTS[name](x, y))


def demonstrated_invariants(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[str, ...]:
    """Names of the :data:`INVARIANTS` that hold on every ``(input, output)`` pair."""
    pairs = [(np.asarray(x), np.asarray(y)) for x, y in pairs]
    if not pairs:
        raise DataError("demonstrated_invariants needs at least one (input, output) pair")
    return tuple(name for name in INVARIANTS if all(_holds(name, x, y) for x, y in pairs))


def _check_names(names: Sequence[str]) -> None:
    unknown = sorted(set(names) - set(INVARIANTS))
    if unknown:
        raise ConfigError(f"unknown invariants {unknown}; known: {sorted(INVARIANTS)}")


def keeps_invariants(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> bool:
    """Whether the pair ``x -> y`` keeps every invariant in ``names``."""
    _check_names(names)
    x, y = np.asarray(x), np.asarray(y)
    return all(_holds(name, x, y) for name in names)


def verified_rows(rows: np.ndarray, x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The candidate ``rows`` ``(K, n)`` for test input ``x`` ``(n,)`` that keep every
    invariant in ``names`` (all of ``rows`` when none does, so a vote always has rows)."""
    rows, x = np.asarray(rows), np.asarray(x)
    if rows.ndim != 2 or x.ndim != 1 or rows.shape[1] != x.shape[0] or rows.shape[0] == 0:
        raise DataError(f"verified_rows needs rows (K >= 1, n) and an input (n,), got {rows.shape} and {x.shape}")
    _check_names(names)
    keep = np.array([all(_holds(name, x, r) for name in names) for r in rows], bool)
    return rows[keep] if keep.any() else rows
