"""Solving and scoring 1D-ARC tasks with the task-ID NCA (:class:`Arc1DTaskNCA`): each
test input is rolled out once with its task type's embedding (no demonstrations, no
test-time training), scored by the same exact match and table as ``arc1d_nca``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._data._arc1d import TASK_TYPES, Arc1DTask, load_arc1d, pad_pairs
from ..._errors import ConfigError, DataError
from ..._validation import check_bool, check_int
from ._score import format_table, score
from ._solve import padded_length
from ._task_file import TaskRun, read_task_file, task_run
from ._task_id import Arc1DTaskNCA, task_id_logits


@eqx.filter_jit
def _predict_rows(model, xs, tasks, steps):
    return jax.vmap(lambda x, t: jnp.argmax(task_id_logits(model, x, t, steps), -1))(xs, tasks)


def predict_task_id(model: Arc1DTaskNCA, tasks: Sequence[Arc1DTask], *, steps: int | None = None,
                    chunk: int = 256) -> list[list[np.ndarray]]:
    """Predicted test outputs of each task (one int array per test pair, its real length):
    every test input, padded with background to its length bucket
    (:func:`~cax_zoo.arc1d.padded_length`), rolled out ``steps`` steps (default the
    model's) with the embedding of the task's type; ``chunk`` rows per compiled call."""
    if not isinstance(model, Arc1DTaskNCA):
        raise ConfigError(f"predict_task_id needs an Arc1DTaskNCA, got {type(model).__name__}")
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=10_000)
    chunk = check_int("chunk", chunk, minimum=1, maximum=65_536)
    rows = [(i, k, x) for i, t in enumerate(tasks) for k, (x, _) in enumerate(t.test)]
    buckets: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    for r in rows:
        buckets.setdefault(padded_length(len(r[2])), []).append(r)
    out: list[list[Any]] = [[None] * len(t.test) for t in tasks]
    for length, items in sorted(buckets.items()):
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            xs, _, _ = pad_pairs([(x, x) for _, _, x in part], length)
            ids = np.array([TASK_TYPES.index(tasks[i].task_type) for i, _, _ in part], np.int32)
            n = len(part)
            size = min(chunk, 1 << (n - 1).bit_length())  # few distinct shapes: fewer compilations
            xs = np.concatenate([xs, np.zeros((size - n, length), np.int32)])
            ids = np.concatenate([ids, np.zeros(size - n, np.int32)])
            pred = np.asarray(_predict_rows(model, jnp.asarray(xs), jnp.asarray(ids), steps))
            for j, (i, k, x) in enumerate(part):
                out[i][k] = pred[j, : len(x)]
    return out


def evaluate_task_id(model: Arc1DTaskNCA, *, data=None, steps: int | None = None, task_types=None,
                     indices=None, limit: int | None = None, progress: bool = True,
                     print_table: bool = True) -> dict[str, Any]:
    """Score ``model`` on every 1D-ARC task under ``data`` (default ``$CAX_ZOO_DATA/1d-arc``):
    exact match of the test outputs predicted from the test input and the task type alone.
    ``task_types``, ``indices`` and ``limit`` (the first N tasks, sorted by type and index)
    select a subset; ``steps`` overrides the NCA steps. Returns :func:`~cax_zoo.arc1d.score`'s
    dict plus ``seconds`` and ``steps``; prints :func:`~cax_zoo.arc1d.format_table`."""
    if not isinstance(model, Arc1DTaskNCA):
        raise ConfigError(f"evaluate_task_id needs an Arc1DTaskNCA, got {type(model).__name__}")
    progress, print_table = check_bool("progress", progress), check_bool("print_table", print_table)
    if limit is not None:
        limit = check_int("limit", limit, minimum=1)
    steps = check_int("steps", model.default_steps if steps is None else steps, minimum=1, maximum=10_000)
    tasks = load_arc1d(data, task_types=task_types, indices=indices)
    if limit is not None:
        tasks = tasks[:limit]
    t0 = time.time()
    if progress:
        print(f"  predicting {len(tasks)} tasks ({steps} steps, no test-time training) ...", flush=True)
    result = score(tasks, predict_task_id(model, tasks, steps=steps))
    result["seconds"] = round(time.time() - t0, 1)
    result["steps"] = steps
    if print_table:
        print(format_table(result))
    return result


def solve_task_file_task_id(model: Arc1DTaskNCA, path, *, steps: int | None = None) -> TaskRun:
    """``cax-zoo run arc1d_nca/cax --task FILE.json``: the test outputs of the task file
    predicted from its test inputs and its task type, which the file name gives
    (``<task_type>_<i>.json``, as in the dataset); the demonstrations are not used."""
    task = read_task_file(path)
    if task.task_type not in TASK_TYPES:
        raise DataError(f"{path}: this model needs the task type, named by the file name "
                        f"<task_type>_<i>.json (e.g. 1d_fill_3.json)")
    (predictions,) = predict_task_id(model, [task], steps=steps)
    return task_run(task, predictions)
