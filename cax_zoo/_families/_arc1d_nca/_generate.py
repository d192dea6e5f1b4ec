"""Procedurally generated 1D-ARC tasks: each of the 18 task types' rule as a numpy program,
and a generator of inputs drawn like instances 0-14 of that type, so that a model can
pretrain on as many tasks of a type as it needs instead of the benchmark's few.

Every rule maps an input row ``(L,)`` to its output row ``(L,)``, given the task's
parameters (the recolouring targets of the ``recolor`` types; no other type has any). The
parameters are inferred from a task's demonstration pairs, so :func:`follows_rule` checks a
real task against the rule. The input generators and their ranges (row lengths, object
sizes, gaps, counts, colours, marker placement) were read off instances 0-14 only, the
instances pretraining sees; 15-29 stay validation and test data. Inputs are drawn in numpy:
they are data, not a traced computation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..._data._arc1d import NUM_COLOURS, TASK_TYPES, Arc1DTask
from ..._errors import ConfigError
from ..._validation import check_int

Rule = Callable[[np.ndarray, dict], "np.ndarray | None"]
DrawRow = Callable[[np.random.Generator], np.ndarray]

NUM_TRAIN = 3
"""Demonstration pairs of a generated task (one test pair), as in every 1D-ARC task."""
MAX_PER_TYPE = 1_000_000
_ROW_TRIES = 1000  # draws for one task's distinct, in-range rows before drawing a new task
_TASK_TRIES = 100

# (row lengths, non-background cells of an input, of an output): the ranges instances 0-14
# of each type show, within which every generated pair lies.
OBSERVED: dict[str, tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = {
    "1d_denoising_1c": ((32, 33), (12, 19), (10, 15)),
    "1d_denoising_mc": ((32, 33), (20, 26), (20, 26)),
    "1d_fill": ((15, 31), (2, 2), (3, 25)),
    "1d_flip": ((9, 32), (3, 16), (3, 16)),
    "1d_hollow": ((15, 31), (3, 25), (2, 2)),
    "1d_mirror": ((13, 32), (4, 10), (4, 10)),
    "1d_move_1p": ((7, 30), (3, 26), (3, 26)),
    "1d_move_2p": ((7, 30), (3, 26), (3, 26)),
    "1d_move_2p_dp": ((7, 30), (4, 27), (4, 27)),
    "1d_move_3p": ((7, 30), (3, 26), (3, 26)),
    "1d_move_dp": ((7, 30), (4, 27), (4, 27)),
    "1d_padded_fill": ((45, 93), (6, 6), (9, 75)),
    "1d_pcopy_1c": ((32, 33), (4, 6), (6, 12)),
    "1d_pcopy_mc": ((32, 33), (4, 6), (6, 12)),
    "1d_recolor_cmp": ((17, 33), (6, 22), (6, 22)),
    "1d_recolor_cnt": ((12, 33), (3, 12), (3, 12)),
    "1d_recolor_oe": ((14, 32), (3, 22), (3, 22)),
    "1d_scale_dp": ((7, 30), (4, 27), (6, 30)),
}


# ---------------------------------------------------------------- objects of a row
def colour_runs(row: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, length, colour)`` of every maximal run of one non-background colour."""
    row = np.asarray(row)
    if row.size == 0:
        return []
    edges = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate([[0], edges]).astype(int)
    ends = np.concatenate([edges, [len(row)]]).astype(int)
    return [(int(s), int(e - s), int(row[s])) for s, e in zip(starts, ends) if row[s] != 0]


def _objects(row: np.ndarray) -> list[tuple[int, int]]:
    """``(start, length)`` of every maximal segment of non-background cells (of any colours)."""
    return [(s, n) for s, n, _ in colour_runs((np.asarray(row) != 0).astype(np.int8))]


def _pivot_and_block(row: np.ndarray) -> tuple[int, int, int] | None:
    """``(pivot, start, length)`` when the row holds exactly a one-cell marker (the pivot)
    and one longer object, else None."""
    objects = _objects(row)
    if len(objects) != 2:
        return None
    singles = [s for s, n in objects if n == 1]
    blocks = [(s, n) for s, n in objects if n > 1]
    if len(singles) != 1 or len(blocks) != 1:
        return None
    return singles[0], blocks[0][0], blocks[0][1]


# ---------------------------------------------------------------- the rules
def _denoise_one_colour(x: np.ndarray, params: dict) -> np.ndarray | None:
    """Keep the longest object, clear every other (the noise)."""
    objects = _objects(x)
    if not objects:
        return None
    longest = max(n for _, n in objects)
    keep = [s for s, n in objects if n == longest]
    if len(keep) != 1:
        return None
    y = np.zeros_like(x)
    y[keep[0]: keep[0] + longest] = x[keep[0]: keep[0] + longest]
    return y


def _denoise_many_colours(x: np.ndarray, params: dict) -> np.ndarray | None:
    """Every non-background cell takes the row's most frequent non-background colour."""
    counts = np.bincount(x[x != 0].astype(int), minlength=NUM_COLOURS)
    if counts.sum() == 0 or np.sum(counts == counts.max()) != 1:
        return None
    return np.where(x != 0, counts.argmax(), 0).astype(x.dtype)


def _fill_pairs(x: np.ndarray, params: dict) -> np.ndarray | None:
    """The non-background cells, taken in pairs left to right (both of one colour), each
    pair joined by a segment of its colour."""
    cells = np.flatnonzero(x)
    if len(cells) == 0 or len(cells) % 2:
        return None
    y = x.copy()
    for a, b in cells.reshape(-1, 2):
        if x[a] != x[b]:
            return None
        y[a: b + 1] = x[a]
    return y


def _hollow(x: np.ndarray, params: dict) -> np.ndarray | None:
    """Each run keeps only its two end cells."""
    runs = colour_runs(x)
    if not runs:
        return None
    y = np.zeros_like(x)
    for s, n, c in runs:
        y[s] = y[s + n - 1] = c
    return y


def _flip(x: np.ndarray, params: dict) -> np.ndarray | None:
    """Each object reversed in place (its one-cell head moves to its other end)."""
    objects = _objects(x)
    if not objects:
        return None
    y = x.copy()
    for s, n in objects:
        y[s: s + n] = x[s: s + n][::-1]
    return y


def _mirror(x: np.ndarray, params: dict) -> np.ndarray | None:
    """The block reflected through the one-cell pivot onto its other side."""
    found = _pivot_and_block(x)
    if found is None:
        return None
    m, s, n = found
    lo, hi = 2 * m - (s + n - 1), 2 * m - s
    if lo < 0 or hi >= len(x):
        return None
    y = np.zeros_like(x)
    y[m] = x[m]
    y[lo: hi + 1] = x[s: s + n][::-1]
    return y


def _shift_right(k: int) -> Rule:
    """The rule moving everything ``k`` cells right (nothing may fall off the row)."""
    def rule(x: np.ndarray, params: dict) -> np.ndarray | None:
        if not x.any() or x[len(x) - k:].any():
            return None
        y = np.zeros_like(x)
        y[k:] = x[: len(x) - k]
        return y

    return rule


def _towards_pivot(step: int | None, *, stretch: bool = False) -> Rule:
    """The rule moving the block ``step`` cells towards the one-cell pivot (None: until it
    touches the pivot), or with ``stretch`` extending it until it touches."""
    def rule(x: np.ndarray, params: dict) -> np.ndarray | None:
        found = _pivot_and_block(x)
        if found is None:
            return None
        m, s, n = found
        gap = m - (s + n) if s < m else s - (m + 1)
        d = gap if step is None else step
        if d < 1 or d > gap:
            return None
        y = x.copy()
        if stretch:
            if s < m:
                y[s + n: m] = x[s]
            else:
                y[m + 1: s] = x[s]
            return y
        y[s: s + n] = 0
        t = s + d if s < m else s - d
        y[t: t + n] = x[s: s + n]
        return y

    return rule


def _pattern_copy(x: np.ndarray, params: dict) -> np.ndarray | None:
    """Each one-cell object grows into a copy, in its colour and centred on it, of the
    widest object (which has odd width)."""
    runs = colour_runs(x)
    if not runs:
        return None
    w = max(n for _, n, _ in runs)
    if w < 3 or w % 2 == 0:
        return None
    y = x.copy()
    for s, n, c in runs:
        if n == 1:
            lo, hi = s - w // 2, s + w // 2
            if lo < 0 or hi >= len(x) or np.count_nonzero(y[lo: hi + 1]) != 1:
                return None
            y[lo: hi + 1] = c
    return y


def _recolour(key: Callable[[int, int], object]) -> Rule:
    """The rule recolouring each run to ``params[key(its length, the longest run's length)]``
    (a key None leaves the run as it is)."""
    def rule(x: np.ndarray, params: dict) -> np.ndarray | None:
        runs = colour_runs(x)
        if not runs:
            return None
        longest = max(n for _, n, _ in runs)
        y = x.copy()
        for s, n, _ in runs:
            k = key(n, longest)
            if k is None:
                continue
            if k not in params:
                return None
            y[s: s + n] = params[k]
        return y

    return rule


def _longest(n: int, longest: int) -> object:
    """recolor_cmp's key: the longest runs (every one of them) change colour, others keep theirs."""
    return True if n == longest else None


def _size(n: int, longest: int) -> object:
    """recolor_cnt's key: a run's colour follows its size."""
    return n


def _parity(n: int, longest: int) -> object:
    """recolor_oe's key: a run's colour follows whether its size is odd (1) or even (0)."""
    return n % 2


def _no_parameters(pairs) -> dict | None:
    """The parameters of a rule that has none."""
    return {}


def _infer_recolouring(key: Callable[[int, int], object]) -> Callable[..., dict | None]:
    """The parameters of a :func:`_recolour` rule read off demonstration pairs: the colour
    each key's runs take in the outputs (None when the pairs disagree)."""
    def infer(pairs) -> dict | None:
        params: dict = {}
        for x, y in pairs:
            x, y = np.asarray(x), np.asarray(y)
            runs = colour_runs(x)
            if not runs or x.shape != y.shape:
                return None
            longest = max(n for _, n, _ in runs)
            for s, n, _ in runs:
                k = key(n, longest)
                if k is None:
                    continue
                colours = np.unique(y[s: s + n])
                if len(colours) != 1 or params.setdefault(k, int(colours[0])) != int(colours[0]):
                    return None
        return params

    return infer


# ---------------------------------------------------------------- the input generators
def _int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """An integer uniform in ``[lo, hi]`` (both ends included)."""
    return int(rng.integers(lo, hi + 1))


def _colour(rng: np.random.Generator, lo: int = 1, hi: int = 9, exclude=()) -> int:
    """A colour uniform over ``[lo, hi]`` less ``exclude``."""
    return int(rng.choice([c for c in range(lo, hi + 1) if c not in exclude]))


def _colours(rng: np.random.Generator, k: int, exclude=()) -> list[int]:
    """``k`` distinct colours of 1-9 less ``exclude``."""
    return [int(c) for c in rng.choice([c for c in range(1, NUM_COLOURS) if c not in exclude], k, replace=False)]


def _draw_denoising_one_colour(rng):
    """Row length 32 or 33; per pair one block (10-15 cells) of a colour of 1-8 among 1-5
    one-cell noise dots of its colour, 1-5 cells apart, 0-5 cells in, 1-14 cells to spare."""
    length = _int(rng, 32, 33)

    def row(rng):
        while True:
            noise = _int(rng, 1, 5)
            left = _int(rng, 0, noise)
            sizes = [1] * left + [_int(rng, 10, 15)] + [1] * (noise - left)
            gaps = [_int(rng, 1, 5) for _ in range(noise)]
            lead = _int(rng, 0, 5)
            if 1 <= length - (lead + sum(sizes) + sum(gaps)) <= 14:
                break
        x, at, c = np.zeros(length, np.int8), lead, _colour(rng, 1, 8)
        for size, gap in zip(sizes, gaps + [0]):
            x[at: at + size] = c
            at += size + gap
        return x

    return {}, row


def _draw_denoising_many_colours(rng):
    """Row length 32 or 33; per pair one block (20-26 cells, 0-8 cells in, 3-12 cells to
    spare) of a colour of 1-9 with 1-4 cells, not among its two first or last, of other
    colours."""
    length = _int(rng, 32, 33)

    def row(rng):
        while True:
            size, lead = _int(rng, 20, 26), _int(rng, 0, 8)
            if 3 <= length - lead - size <= 12:
                break
        c = _colour(rng)
        block = np.full(size, c, np.int8)
        spots = rng.choice(np.arange(2, size - 2), _int(rng, 1, 4), replace=False)
        block[spots] = [_colour(rng, exclude=(c,)) for _ in spots]
        x = np.zeros(length, np.int8)
        x[lead: lead + size] = block
        return x

    return {}, row


def _fill_row(rng, length: int) -> np.ndarray:
    """Two cells of a colour of 1-8 spanning 3 to ``length - 4`` cells, the last cell free."""
    span = _int(rng, 3, length - 4)
    lead = _int(rng, 0, length - 1 - span)
    x = np.zeros(length, np.int8)
    x[lead] = x[lead + span - 1] = _colour(rng, 1, 8)
    return x


def _draw_fill(rng):
    """Row length 15-31; per pair two cells of a colour of 1-8, 3 to length - 4 cells apart
    end to end, never on the last cell."""
    length = _int(rng, 15, 31)
    return {}, lambda rng: _fill_row(rng, length)


def _draw_padded_fill(rng):
    """A :func:`_draw_fill` row of length 15-31 repeated three times."""
    length = _int(rng, 15, 31)
    return {}, lambda rng: np.tile(_fill_row(rng, length), 3)


def _draw_hollow(rng):
    """Row length 15-31; per pair one block of a colour of 1-8, 3 to length - 4 cells long,
    never on the last cell."""
    length = _int(rng, 15, 31)

    def row(rng):
        x = _fill_row(rng, length)
        a, b = np.flatnonzero(x)
        x[a: b + 1] = x[a]
        return x

    return {}, row


def _draw_flip(rng):
    """Row length 9-32; per pair one object of 3 to length // 2 cells, never on the last
    cell: a head cell and a body of two other colours of 1-8."""
    length = _int(rng, 9, 32)

    def row(rng):
        size = _int(rng, 3, length // 2)
        lead = _int(rng, 0, length - 1 - size)
        head, body = _colours(rng, 2, exclude=(9,))
        x = np.zeros(length, np.int8)
        x[lead], x[lead + 1: lead + size] = head, body
        return x

    return {}, row


def _draw_mirror(rng):
    """Row length 13-32; per pair a block (3-9 cells, a colour of 1-7) then, 1-5 cells to its
    right, the pivot (colour 9), with room for the reflection and one cell to spare."""
    length = _int(rng, 13, 32)

    def row(rng):
        while True:
            size, gap = _int(rng, 3, 9), _int(rng, 1, 5)
            room = length - 2 - 2 * size - 2 * gap
            if room >= 0:
                break
        lead = _int(rng, 0, room)
        x = np.zeros(length, np.int8)
        x[lead: lead + size] = _colour(rng, 1, 7)
        x[lead + size + gap] = 9
        return x

    return {}, row


def _block_row(rng, length: int, colour: int) -> tuple[np.ndarray, int]:
    """A block of ``colour``, 3 to ``length - 4`` cells long with at least 3 cells to its
    right, and the number of those free cells."""
    size = _int(rng, 3, length - 4)
    lead = _int(rng, 0, length - 3 - size)
    x = np.zeros(length, np.int8)
    x[lead: lead + size] = colour
    return x, length - lead - size


def _draw_move(rng):
    """Row length 7-30; per pair one block (a colour of 1-8, 3 to length - 4 cells) with at
    least three free cells to its right."""
    length = _int(rng, 7, 30)
    return {}, lambda rng: _block_row(rng, length, _colour(rng, 1, 8))[0]


def _marked_rows(gap: int | None):
    """Row length 7-30; the pivot's colour (of 1-9) fixed per task; per pair a
    :func:`_block_row` block of another colour of 1-8, the pivot ``gap`` cells to its right
    (None: 2 to all but one of the free cells)."""
    def draw(rng):
        length, marker = _int(rng, 7, 30), _colour(rng)

        def row(rng):
            x, free = _block_row(rng, length, _colour(rng, 1, 8, exclude=(marker,)))
            g = _int(rng, 2, free - 1) if gap is None else gap
            x[length - free + g] = marker
            return x

        return {}, row

    return draw


def _pattern_copy_rows(many_colours: bool):
    """Row length 32 or 33; per pair a 3-cell block (a colour of 1-9) 1-2 cells in, then 1-3
    single cells (its colour, or with ``many_colours`` each any of 1-9) placed so that their
    copies lie 1-3 cells apart."""
    def draw(rng):
        length = _int(rng, 32, 33)

        def row(rng):
            x, c, at = np.zeros(length, np.int8), _colour(rng), _int(rng, 1, 2)
            x[at: at + 3] = c
            at += 3
            for _ in range(_int(rng, 1, 3)):
                at += _int(rng, 1, 3)
                x[at + 1] = _colour(rng) if many_colours else c
                at += 3
            return x

        return {}, row

    return draw


def _packed_row(rng, length: int, colour: int, sizes: tuple[int, int], most: int) -> np.ndarray:
    """Runs of ``colour`` laid left to right from 1-3 cells in, 1-3 cells apart, each of a
    size drawn from ``sizes``, until ``most`` are laid or the next does not fit."""
    x, at = np.zeros(length, np.int8), _int(rng, 1, 3)
    for _ in range(most):
        size = _int(rng, *sizes)
        if at + size > length:
            break
        x[at: at + size] = colour
        at += size + _int(rng, 1, 3)
    return x


def _draw_recolor_cmp(rng):
    """Row length 17-33; the input colour and the target (another colour, both of 1-9) fixed
    per task; per pair up to 7 runs (1-7 cells) of two sizes at least, the longest 4-7 cells."""
    length, (c, target) = _int(rng, 17, 33), _colours(rng, 2)

    def row(rng):
        while True:
            x = _packed_row(rng, length, c, (1, 7), 7)
            sizes = [n for _, n, _ in colour_runs(x)]
            if len(sizes) >= 2 and len(set(sizes)) >= 2 and max(sizes) >= 4:
                return x

    return {True: target}, row


def _draw_recolor_cnt(rng):
    """Row length 12-33; the input colour and the targets of sizes 1, 2, 3 (four distinct
    colours of 1-9) fixed per task; per pair 2-5 runs of 1-3 cells."""
    length, (c, *targets) = _int(rng, 12, 33), _colours(rng, 4)

    def row(rng):
        while True:
            x = _packed_row(rng, length, c, (1, 3), 5)
            if len(colour_runs(x)) >= 2:
                return x

    return dict(zip((1, 2, 3), targets)), row


def _draw_recolor_oe(rng):
    """Row length 14-32; the input colour and the targets of even and odd runs (three
    distinct colours of 1-9) fixed per task; per pair 2-5 runs of 1-6 cells."""
    length, (c, even, odd) = _int(rng, 14, 32), _colours(rng, 3)

    def row(rng):
        while True:
            x = _packed_row(rng, length, c, (1, 6), 5)
            if len(colour_runs(x)) >= 2:
                return x

    return {0: even, 1: odd}, row


# ---------------------------------------------------------------- the 18 types
# task type: (rule, its parameters inferred from demonstration pairs, a task's parameters
# and row generator)
KINDS: dict[str, tuple[Rule, Callable[..., dict | None], Callable[..., tuple[dict, DrawRow]]]] = {
    "1d_denoising_1c": (_denoise_one_colour, _no_parameters, _draw_denoising_one_colour),
    "1d_denoising_mc": (_denoise_many_colours, _no_parameters, _draw_denoising_many_colours),
    "1d_fill": (_fill_pairs, _no_parameters, _draw_fill),
    "1d_flip": (_flip, _no_parameters, _draw_flip),
    "1d_hollow": (_hollow, _no_parameters, _draw_hollow),
    "1d_mirror": (_mirror, _no_parameters, _draw_mirror),
    "1d_move_1p": (_shift_right(1), _no_parameters, _draw_move),
    "1d_move_2p": (_shift_right(2), _no_parameters, _draw_move),
    "1d_move_2p_dp": (_towards_pivot(2), _no_parameters, _marked_rows(2)),
    "1d_move_3p": (_shift_right(3), _no_parameters, _draw_move),
    "1d_move_dp": (_towards_pivot(None), _no_parameters, _marked_rows(None)),
    "1d_padded_fill": (_fill_pairs, _no_parameters, _draw_padded_fill),
    "1d_pcopy_1c": (_pattern_copy, _no_parameters, _pattern_copy_rows(False)),
    "1d_pcopy_mc": (_pattern_copy, _no_parameters, _pattern_copy_rows(True)),
    "1d_recolor_cmp": (_recolour(_longest), _infer_recolouring(_longest), _draw_recolor_cmp),
    "1d_recolor_cnt": (_recolour(_size), _infer_recolouring(_size), _draw_recolor_cnt),
    "1d_recolor_oe": (_recolour(_parity), _infer_recolouring(_parity), _draw_recolor_oe),
    "1d_scale_dp": (_towards_pivot(None, stretch=True), _no_parameters, _marked_rows(None)),
}


# ---------------------------------------------------------------- public
def _checked_type(task_type) -> str:
    if not isinstance(task_type, str) or task_type not in KINDS:
        raise ConfigError(f"unknown 1D-ARC task type {task_type!r}; known: {', '.join(TASK_TYPES)}")
    return task_type


def _in_range(task_type: str, x: np.ndarray, y: np.ndarray) -> bool:
    """Whether a pair's row length and non-background cells lie in :data:`OBSERVED`'s ranges."""
    (l0, l1), (a0, a1), (b0, b1) = OBSERVED[task_type]
    return l0 <= len(x) <= l1 and a0 <= np.count_nonzero(x) <= a1 and b0 <= np.count_nonzero(y) <= b1


def follows_rule(task: Arc1DTask) -> bool:
    """Whether every pair of ``task`` (demonstrations and tests) follows its type's rule,
    with the rule's parameters (the recolouring targets) read off the demonstrations."""
    if not isinstance(task, Arc1DTask):
        raise ConfigError(f"task must be an Arc1DTask, got {type(task).__name__}")
    rule, infer, _ = KINDS[_checked_type(task.task_type)]
    params = infer(task.train)
    if params is None:
        return False
    for x, y in task.train + task.test:
        out = rule(np.asarray(x), params)
        if out is None or out.shape != np.shape(y) or not np.array_equal(out, y):
            return False
    return True


def generate_task(task_type: str, rng: np.random.Generator, *, index: int = 0) -> Arc1DTask:
    """A fresh task of ``task_type`` drawn from ``rng``: 3 demonstration pairs and 1 test
    pair of one row length, int8 ``(L,)`` grids, inputs drawn like instances 0-14 of the type
    (within :data:`OBSERVED`'s ranges), all four distinct, outputs computed by the rule, and
    demonstrations that fix the rule's parameters. Named ``f"{task_type}_gen{index}"``."""
    _checked_type(task_type)
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    index = check_int("index", index, minimum=0)
    rule, _, draw = KINDS[task_type]
    for _ in range(_TASK_TRIES):
        params, draw_row = draw(rng)
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        for _ in range(_ROW_TRIES):
            x = draw_row(rng).astype(np.int8)
            y = rule(x, params)
            if y is None or not _in_range(task_type, x, y) or any(np.array_equal(x, a) for a, _ in pairs):
                continue
            pairs.append((x, y.astype(np.int8)))
            if len(pairs) == NUM_TRAIN + 1:
                break
        else:
            continue
        task = Arc1DTask(f"{task_type}_gen{index}", task_type, index, tuple(pairs[:NUM_TRAIN]),
                         tuple(pairs[NUM_TRAIN:]))
        if follows_rule(task):  # the demonstrations show every parameter the test needs
            return task
    raise RuntimeError(f"could not draw a {task_type} task in {_TASK_TRIES} tries")  # a generator bug


def generate_tasks(task_types: Sequence[str] | None, per_type: int, seed: int) -> list[Arc1DTask]:
    """``per_type`` fresh tasks of each of ``task_types`` (None: all 18), in that order,
    deterministic for ``seed``. Task ``i`` of a type is drawn from its own stream
    ``(seed, type, i)``, so it does not depend on the other types asked for or on
    ``per_type``."""
    if task_types is None:
        task_types = TASK_TYPES
    if isinstance(task_types, str) or not isinstance(task_types, Sequence):
        raise ConfigError(f"task_types must be a list of 1D-ARC task type names, got {task_types!r}")
    for t in task_types:
        _checked_type(t)
    per_type = check_int("per_type", per_type, minimum=0, maximum=MAX_PER_TYPE)
    seed = check_int("seed", seed, minimum=0, maximum=None)
    return [generate_task(t, np.random.default_rng([seed, TASK_TYPES.index(t), i]), index=i)
            for t in task_types for i in range(per_type)]
