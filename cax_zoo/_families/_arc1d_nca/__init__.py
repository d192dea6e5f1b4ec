"""A 1-D neural CA that solves 1D-ARC tasks by test-time training on their demonstrations:
the model (:mod:`._model`; what a cell sees, :mod:`._views`; colour-equivariant
perception and update, :mod:`._colour`), test-time training (:mod:`._ttt`), candidates and voting
(:mod:`._solve`; candidates checked against the demonstrations' invariants, :mod:`._verify`), scoring (:mod:`._score`) and one task file solved and drawn
(:mod:`._task_file`); and CAX's own 1D-ARC NCA under the paper's task-ID protocol
(:mod:`._task_id`, scored by :mod:`._task_id_score`); procedurally generated tasks of the
18 types and their rules (:mod:`._generate`). Public as :mod:`cax_zoo.arc1d`."""

from ._model import (
    ARC_COLOURS as ARC_COLOURS,
    FIXED as FIXED,
    Arc1DNCA as Arc1DNCA,
    RowPerceive as RowPerceive,
    initial_states as initial_states,
    logits as logits,
    with_contexts as with_contexts,
)
from ._colour import ColourRowPerceive as ColourRowPerceive, ColourUpdate as ColourUpdate, colour_groups as colour_groups
from ._views import directional_context as directional_context, row_views as row_views, segment_means as segment_means
from ._generate import follows_rule as follows_rule, generate_task as generate_task, generate_tasks as generate_tasks
from ._score import evaluate as evaluate, format_table as format_table, score as score
from ._solve import (
    candidates as candidates,
    majority_row as majority_row,
    padded_length as padded_length,
    shift_bias as shift_bias,
    solve as solve,
    task_arrays as task_arrays,
)
from ._verify import (
    INVARIANTS as INVARIANTS,
    demonstrated_invariants as demonstrated_invariants,
    keeps_invariants as keeps_invariants,
    verified_rows as verified_rows,
)
from ._task_file import TaskRun as TaskRun, read_task_file as read_task_file, render_task as render_task
from ._task_file import solve_task_file as solve_task_file
from ._ttt import ADAPT as ADAPT, adapt as adapt, adapted_filter as adapted_filter, pairs_loss as pairs_loss
from ._task_id import (
    Arc1DTaskNCA as Arc1DTaskNCA,
    TaskUpdate as TaskUpdate,
    task_id_logits as task_id_logits,
    task_id_states as task_id_states,
)
from ._task_id_score import evaluate_task_id as evaluate_task_id, predict_task_id as predict_task_id
