"""Scoring 1D-ARC predictions (exact match), the comparison table with published figures,
and the evaluation of a model on a folder of tasks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._data._arc1d import Arc1DTask, load_arc1d
from ..._data._arc1d_baselines import (
    ARC_VSA_OVERALL, CAX_NCA_OVERALL, CAX_NCA_PER_TYPE, GPT4_OBJECT_OVERALL, GPT4_OVERALL, GPT4_PER_TYPE,
    SOURCES,
)
from ..._errors import ConfigError, DataError
from ..._validation import check_bool, check_int, refuse_options
from ._model import Arc1DNCA
from ._solve import solve

EVALUATE_OPTIONS = ("group", "seed", "num_perms", "votes", "canonical", "per_step", "restarts", "adapt", "mirror",
                    "contexts", "verify")
"""Options :func:`evaluate` passes on to :func:`~cax_zoo.arc1d.solve` (``verify``) and
:func:`~cax_zoo.arc1d.candidates` (the rest)."""


def score(tasks: Sequence[Arc1DTask], predictions: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Exact-match scoring: a task counts as solved when every test output is predicted
    with the right length and every cell right. Returns ``overall``, ``per_task_type``
    (fraction per type present), ``n_tasks``, ``n_solved`` and ``solved`` (task names)."""
    if len(predictions) != len(tasks):
        raise DataError(f"{len(predictions)} predictions for {len(tasks)} tasks")
    per: dict[str, list[int]] = {}
    solved = []
    for t, preds in zip(tasks, predictions):
        ok = len(preds) == len(t.test) and all(
            np.asarray(p).shape == y.shape and np.array_equal(np.asarray(p), y)
            for p, (_, y) in zip(preds, t.test))
        per.setdefault(t.task_type, [0, 0])
        per[t.task_type][0] += int(ok)
        per[t.task_type][1] += 1
        if ok:
            solved.append(t.name)
    n = len(tasks)
    return {
        "overall": len(solved) / n if n else 0.0,
        "per_task_type": {k: v[0] / v[1] for k, v in sorted(per.items())},
        "n_tasks": n,
        "n_solved": len(solved),
        "solved": solved,
    }


def format_table(result: dict[str, Any]) -> str:
    """Per-type accuracy (percent) beside GPT-4 on grids (Xu et al. 2023) and CAX's NCA
    (Faldor & Cully 2025), and overall beside GPT-4 with object-based representations and
    ARC-VSA, whose per-type figures are not published; 'n/a' where a figure is missing."""
    f = lambda v: "n/a" if v is None else f"{v:.1f}"
    head = ("ours", "GPT-4", "CAX NCA", "GPT-4 obj", "ARC-VSA")
    widths = [max(6, len(h)) for h in head]
    row = lambda name, cells: f"{name:<18} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths))
    lines = [row("task type", head)]
    for t, acc in result["per_task_type"].items():
        lines.append(row(t, [f(100 * acc), f(GPT4_PER_TYPE.get(t)), f(CAX_NCA_PER_TYPE.get(t)), "n/a", "n/a"]))
    lines.append(row("overall", [f(100 * result["overall"]), f(GPT4_OVERALL), f(CAX_NCA_OVERALL),
                                 f(GPT4_OBJECT_OVERALL), f(ARC_VSA_OVERALL)])
                 + f"   ({result['n_solved']}/{result['n_tasks']} tasks)")
    lines.append("published figures (on the full benchmark, not only on the tasks scored here):")
    lines.extend(f"  {k}: {v}" for k, v in SOURCES.items())
    return "\n".join(lines)


def evaluate(model: Arc1DNCA, *, data=None, steps: int | None = None, ttt_steps: int | None = None,
             lr: float | None = None, task_types=None, indices=None, limit: int | None = None,
             progress: bool = True, print_table: bool = True, **opts) -> dict[str, Any]:
    """Score ``model`` on every 1D-ARC task under ``data`` (default ``$CAX_ZOO_DATA/1d-arc``)
    by per-task test-time training then exact match of the test outputs. ``task_types``,
    ``indices`` and ``limit`` (the first N tasks, sorted by type and index) select a
    subset; ``steps`` overrides the NCA steps, ``ttt_steps`` the Adam steps per task and
    ``lr`` their learning rate (defaults: the model's ``ttt_steps`` and ``ttt_lr``);
    ``opts`` are :data:`EVALUATE_OPTIONS` of :func:`~cax_zoo.arc1d.candidates`."""
    if not isinstance(model, Arc1DNCA):
        raise ConfigError(f"evaluate needs an Arc1DNCA, got {type(model).__name__}")
    refuse_options(set(opts) - set(EVALUATE_OPTIONS))
    progress, print_table = check_bool("progress", progress), check_bool("print_table", print_table)
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    tasks = load_arc1d(data, task_types=task_types, indices=indices)
    if limit is not None:
        tasks = tasks[:limit]
    t0 = time.time()
    preds = solve(model, tasks, steps=steps, ttt_steps=ttt_steps, lr=lr, progress=progress, **opts)
    result = score(tasks, preds)
    result["seconds"] = round(time.time() - t0, 1)
    result["ttt_steps"] = model.ttt_steps if ttt_steps is None else int(ttt_steps)
    result["steps"] = model.default_steps if steps is None else int(steps)
    if print_table:
        print(format_table(result))
    return result
