"""Life patterns in the run-length encoded (RLE) format of Golly and LifeWiki, and placing
them on a grid.

An RLE file is optional ``#`` comment lines, a header ``x = 3, y = 3, rule = B3/S23``
(the rule is optional) and a body of runs ``<count><tag>`` where the tag is ``b`` (dead),
``o`` (alive) or ``$`` (end of row), ended by ``!``::

    x = 3, y = 3, rule = B3/S23
    bo$2bo$3o!
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from ._errors import RuleError, StateError


class Pattern(NamedTuple):
    """A parsed pattern: ``cells`` of shape ``(y, x)`` (uint8 0/1), and the header's rule
    in canonical B/S form (``None`` if the header names none)."""

    cells: np.ndarray
    rule: str | None


PATTERNS: dict[str, str] = {
    "glider": "x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!",
    "blinker": "x = 3, y = 1, rule = B3/S23\n3o!",
    "block": "x = 2, y = 2, rule = B3/S23\n2o$2o!",
    "lwss": "x = 5, y = 4, rule = B3/S23\nbo2bo$o4b$o3bo$4o!",
    "r_pentomino": "x = 3, y = 3, rule = B3/S23\nb2o$2o$bo!",
    "gosper_glider_gun": (
        "#N Gosper glider gun\n"
        "x = 36, y = 9, rule = B3/S23\n"
        "24bo$22bobo$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o$2o8bo3bob2o4bo\n"
        "bo$10bo5bo7bo$11bo3bo$12b2o!"
    ),
    "highlife_replicator": "x = 5, y = 5, rule = B36/S23\n2b3o$bo2bo$o3bo$o2bo$3o!",
}
"""Named patterns as RLE strings (``place`` and ``parse_rle`` accept these names)."""

_HEADER = re.compile(
    r"^x\s*=\s*(\d+)\s*,\s*y\s*=\s*(\d+)\s*(?:,\s*rule\s*=\s*(\S+)\s*)?$", re.IGNORECASE
)
_TOKEN = re.compile(r"(\d*)([bo$!])")


def _canonical_rule(rule: str, text: str) -> str:
    from ._families._life import format_rule, parse_rule

    legacy = re.fullmatch(r"(\d*)/(\d*)", rule)  # the old S/B form, e.g. "23/3"
    if legacy:
        rule = f"B{legacy.group(2)}/S{legacy.group(1)}"
    try:
        return format_rule(*parse_rule(rule))
    except RuleError as e:
        raise RuleError(f"bad rule {rule!r} in RLE header: {e}") from None


def parse_rle(text: str) -> Pattern:
    """Parse an RLE string (or the name of one of :data:`PATTERNS`) into a :class:`Pattern`.

    Strict: a missing or malformed header, an unknown tag, a count without a tag, a
    zero count, rows or columns beyond the header's ``x``/``y`` or a missing ``!`` raise
    :class:`~cax_zoo.RuleError` naming the problem.
    """
    if not isinstance(text, str):
        raise RuleError(f"an RLE pattern must be a string, got {type(text).__name__}")
    if text.strip().lower() in PATTERNS:
        text = PATTERNS[text.strip().lower()]
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise RuleError("empty RLE pattern: expected a header like 'x = 3, y = 3' and a body")
    m = _HEADER.match(lines[0])
    if m is None:
        raise RuleError(
            f"bad RLE header {lines[0]!r}: expected 'x = <width>, y = <height>[, rule = B3/S23]'"
        )
    width, height = int(m.group(1)), int(m.group(2))
    rule = None if m.group(3) is None else _canonical_rule(m.group(3), text)
    body = "".join("".join(ln.split()) for ln in lines[1:])
    end = body.find("!")
    if end < 0:
        raise RuleError("RLE body does not end with '!'")
    body = body[: end + 1]
    cells = np.zeros((height, width), np.uint8)
    row = col = pos = 0
    while pos < len(body):
        t = _TOKEN.match(body, pos)
        if t is None:
            bad = body[pos:]
            raise RuleError(
                f"bad RLE body at {bad[:12]!r}: expected runs of <count><tag> with tags b, o, $, !"
            )
        pos = t.end()
        count = int(t.group(1)) if t.group(1) else 1
        tag = t.group(2)
        if count == 0:
            raise RuleError(f"bad RLE body: zero run count before {tag!r}")
        if tag == "!":
            if t.group(1):
                raise RuleError("bad RLE body: a count before '!'")
            break
        if tag == "$":
            row += count
            col = 0
            continue
        if row >= height or col + count > width:
            raise RuleError(
                f"RLE pattern overflows its header size x = {width}, y = {height} "
                f"(run reaches row {row}, column {col + count - 1})"
            )
        if tag == "o":
            cells[row, col : col + count] = 1
        col += count
    return Pattern(cells, rule)


def place(pattern: Any, size: int | tuple[int, int], at: tuple[int, int] | None = None):
    """A ``(H, W, 1)`` uint8 Life state with ``pattern`` on an empty grid.

    ``pattern`` is an RLE string, a name in :data:`PATTERNS`, a :class:`Pattern` or a 2-D
    0/1 array; ``size`` is ``H`` (square) or ``(H, W)``; ``at`` is the ``(row, column)`` of
    the pattern's top-left corner (default: centred). Raises StateError if it does not fit.
    """
    if isinstance(pattern, str):
        cells = parse_rle(pattern).cells
    elif isinstance(pattern, Pattern):
        cells = pattern.cells
    else:
        cells = np.asarray(pattern)
        if cells.ndim != 2 or np.dtype(cells.dtype).kind not in "biu":
            raise StateError(
                f"a pattern array must be 2-D with integer or bool cells, got shape "
                f"{cells.shape} and dtype {cells.dtype}"
            )
        cells = (cells != 0).astype(np.uint8)
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise StateError(f"size must be a positive int or (height, width), got {size!r}")
    h, w = (int(s) for s in size)
    ph, pw = cells.shape
    if at is None:
        at = ((h - ph) // 2, (w - pw) // 2)
    if (
        not isinstance(at, (tuple, list))
        or len(at) != 2
        or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in at)
    ):
        raise StateError(f"at must be a (row, column) pair of ints, got {at!r}")
    r, c = (int(a) for a in at)
    if r < 0 or c < 0 or r + ph > h or c + pw > w:
        raise StateError(f"a {ph}x{pw} pattern at {(r, c)} does not fit a {h}x{w} grid")
    grid = np.zeros((h, w, 1), np.uint8)
    grid[r : r + ph, c : c + pw, 0] = cells
    return jnp.asarray(grid)
