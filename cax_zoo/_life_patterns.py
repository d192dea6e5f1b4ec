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
from ._resources import check_memory
from ._validation import check_size


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

MAX_RLE_CHARS = 1 << 24
"""Longest RLE text accepted (16 MiB; the largest LifeWiki patterns are a few MiB)."""
MAX_PATTERN_CELLS = 1 << 28
"""Most cells a pattern's header may announce (a 16384 x 16384 grid)."""
MAX_RUN_DIGITS = 9
PLACED_BYTES_PER_CELL = 16  # as a Life grid's default estimate: 4 working copies of 4 bytes

_HEADER = re.compile(
    r"^x\s*=\s*(\d+)\s*,\s*y\s*=\s*(\d+)\s*(?:,\s*rule\s*=\s*(\S+)\s*)?$", re.IGNORECASE
)
_TOKEN = re.compile(r"(\d*)([bo$!])")


def _clip(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _canonical_rule(rule: str, text: str) -> str:
    from ._families._life import format_rule, parse_rule

    legacy = re.fullmatch(r"(\d*)/(\d*)", rule)  # the old S/B form, e.g. "23/3"
    if legacy:
        rule = f"B{legacy.group(2)}/S{legacy.group(1)}"
    try:
        return format_rule(*parse_rule(rule))
    except RuleError as e:
        raise RuleError(f"bad rule {_clip(rule)} in RLE header: {e}") from None


def parse_rle(text: str) -> Pattern:
    """Parse an RLE string (or the name of one of :data:`PATTERNS`) into a :class:`Pattern`.

    Strict: a missing or malformed header, an unknown tag, a count without a tag, a
    zero count, rows or columns beyond the header's ``x``/``y`` or a missing ``!`` raise
    :class:`~cax_zoo.RuleError` naming the problem.
    """
    if not isinstance(text, str):
        raise RuleError(f"an RLE pattern must be a string, got {type(text).__name__}")
    if len(text) > MAX_RLE_CHARS:
        raise RuleError(f"an RLE pattern of {len(text)} characters is longer than the limit {MAX_RLE_CHARS}")
    if text.strip().lower() in PATTERNS:
        text = PATTERNS[text.strip().lower()]
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise RuleError("empty RLE pattern: expected a header like 'x = 3, y = 3' and a body")
    m = _HEADER.match(lines[0])
    if m is None:
        raise RuleError(
            f"bad RLE header {_clip(lines[0])}: expected 'x = <width>, y = <height>[, rule = B3/S23]'"
        )
    if max(len(m.group(1)), len(m.group(2))) > MAX_RUN_DIGITS:
        raise RuleError(f"RLE header {_clip(lines[0])}: x and y must be below 10**{MAX_RUN_DIGITS}")
    width, height = int(m.group(1)), int(m.group(2))
    if width * height > MAX_PATTERN_CELLS:
        raise RuleError(
            f"RLE header announces x = {width}, y = {height} ({width * height} cells); the limit "
            f"is {MAX_PATTERN_CELLS} cells"
        )
    check_memory(width * height, f"an RLE pattern of x = {width}, y = {height}")
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
        if len(t.group(1)) > MAX_RUN_DIGITS:
            raise RuleError(f"bad RLE body: run count {_clip(t.group(1))} before {t.group(2)!r} is too large")
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
    h, w = check_size("size", size, num_dims=2, error=StateError)
    # the grid is made to be run: budget a Life step's working copies, not just the cells
    check_memory(h * w * PLACED_BYTES_PER_CELL, f"a {h}x{w} grid for a pattern")
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
