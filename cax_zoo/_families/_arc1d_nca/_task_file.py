"""One 1D-ARC task file, solved and shown: ``cax-zoo run arc1d_nca --task FILE.json``.

The file is read and checked as the dataset's own files are (any file name; a name of the
form ``<task_type>_<i>.json`` names the task), solved by the released model's solve path
(:func:`~cax_zoo.arc1d.solve`: test-time training on the demonstrations, then the vote),
and drawn as rows of enlarged cells: for each test pair the input, the prediction and the
expected output, in ARC's colours.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..._data._arc1d import MAX_JSON_DEPTH, MAX_TASK_BYTES, Arc1DTask, parse_task
from ..._data._files import read_bytes
from ..._errors import DataError
from ..._validation import parse_json
from ._model import ARC_COLOURS

_NAMED = re.compile(r"^(1d_[a-z0-9_]+)_(\d+)$")
ROW_LABELS = ("input", "prediction", "expected")
_OK, _WRONG = (26, 127, 55), (207, 34, 46)


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """A solved task file: the picture (``(H, W, 3)`` uint8, drawn at display size), the
    arrays ``cax-zoo run --out X.npz`` saves, the line it prints, and whether every test
    output was matched exactly."""

    image: np.ndarray
    arrays: dict[str, np.ndarray]
    summary: str
    matched: bool


def read_task_file(path: str | os.PathLike) -> Arc1DTask:
    """A 1D-ARC task from any JSON file of the dataset's layout (``{"train": [...],
    "test": [...]}``, one-row grids, colours 0-9); errors are one-line DataErrors naming
    the file."""
    path = Path(path)
    payload = parse_json(read_bytes(path, max_bytes=MAX_TASK_BYTES, what="1D-ARC task file"),
                         what=str(path), max_depth=MAX_JSON_DEPTH, error=DataError)
    m = _NAMED.match(path.stem)
    task_type, index = (m.group(1), int(m.group(2))) if m else (path.stem, 0)
    task = parse_task(payload, path, task_type=task_type, index=index)
    return task if m else dataclasses.replace(task, name=path.stem)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def render_task(task: Arc1DTask, predictions: list[np.ndarray]) -> np.ndarray:
    """The picture of a solved task: a title (name, matched or not), then per test pair the
    rows input / prediction / expected, each cell a square of ARC colour (``(H, W, 3)``
    uint8; cells of 8-32 px, as a 2-D render is enlarged)."""
    from PIL import Image, ImageDraw

    width_cells = max(len(r) for (x, y), p in zip(task.test, predictions) for r in (x, y, p))
    cell = int(np.clip(768 // width_cells, 8, 32))
    label_w, gap, title_h = 7 * max(12, int(cell * 0.6)), max(2, cell // 4), max(16, cell)
    rows = 3 * len(task.test)
    height = title_h + rows * (cell + gap) + (len(task.test) - 1) * cell + gap
    im = Image.new("RGB", (label_w + width_cells * cell + gap, height), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    solved = [np.array_equal(p, y) for (_, y), p in zip(task.test, predictions)]
    title = f"{task.name}: {'matched' if all(solved) else 'not matched'}"
    draw.text((gap, title_h // 2), title, font=_font(max(11, int(title_h * 0.7))), anchor="lm",
              fill=_OK if all(solved) else _WRONG)
    label_font = _font(max(10, int(cell * 0.6)))
    y0 = title_h
    for k, ((x, y), p) in enumerate(zip(task.test, predictions)):
        for label, row in zip(ROW_LABELS, (x, p, y)):
            colour = (_OK if solved[k] else _WRONG) if label == "prediction" else (60, 60, 60)
            draw.text((label_w - gap, y0 + cell / 2), label, font=label_font, anchor="rm", fill=colour)
            for i, c in enumerate(np.asarray(row)):
                draw.rectangle((label_w + i * cell, y0, label_w + (i + 1) * cell - 1, y0 + cell - 1),
                               fill=tuple(int(v) for v in ARC_COLOURS[int(c)]), outline=(90, 90, 90))
            y0 += cell + gap
        y0 += cell
    return np.asarray(im)


def solve_task_file(model: Any, path: str | os.PathLike, *, steps: int | None = None, seed: int = 0) -> TaskRun:
    """Read the task file ``path``, solve it with ``model`` (its own test-time training
    settings; ``steps`` NCA steps, default the model's) and draw it."""
    from ._solve import solve

    task = read_task_file(path)
    (predictions,) = solve(model, [task], steps=steps, seed=seed, group=1)
    return task_run(task, predictions)


def task_run(task: Arc1DTask, predictions: list[np.ndarray]) -> TaskRun:
    """The :class:`TaskRun` of ``task`` solved as ``predictions`` (one row per test pair)."""
    solved = [bool(np.array_equal(p, y)) for (_, y), p in zip(task.test, predictions)]
    arrays: dict[str, np.ndarray] = {}
    for k, ((x, y), p) in enumerate(zip(task.test, predictions)):
        arrays[f"input_{k}"], arrays[f"prediction_{k}"], arrays[f"expected_{k}"] = (
            np.asarray(x, np.int8), np.asarray(p, np.int8), np.asarray(y, np.int8))
    verdict = "matched" if all(solved) else "not matched"
    detail = "" if len(solved) == 1 else f" ({sum(solved)}/{len(solved)} test outputs)"
    summary = f"{task.name}: {verdict}{detail}; prediction {_row_text(predictions[0])}, expected " \
              f"{_row_text(task.test[0][1])}"
    return TaskRun(render_task(task, predictions), arrays, summary, all(solved))


def _row_text(row) -> str:
    return "".join(str(int(c)) for c in np.asarray(row))
