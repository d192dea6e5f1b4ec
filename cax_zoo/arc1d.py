"""1D-ARC (Xu et al. 2023) and the neural CA that solves it by test-time training:
the task loader, solving, candidates (checked against the invariants the demonstrations
keep) and voting, scoring, the evaluation and the
published baselines (GPT-4, CAX's NCA) beside which results are tabled; and procedurally
generated tasks of the 18 types (:func:`generate_tasks`), each type's rule checked on real
tasks by :func:`follows_rule`.

The model is :class:`cax_zoo.Arc1DNCA` (``cax_zoo.load("arc1d_nca")``); CAX's own NCA under
the paper's protocol (one NCA, a task-type embedding, no test-time training) is
:class:`cax_zoo.Arc1DTaskNCA` (``cax_zoo.load("arc1d_nca/cax")``, scored by
:func:`evaluate_task_id`).
"""

from ._data._arc1d import (
    NUM_COLOURS as NUM_COLOURS,
    TASK_TYPES as TASK_TYPES,
    Arc1DTask as Arc1DTask,
    canonicalise as canonicalise,
    introduced_colours as introduced_colours,
    load_arc1d as load_arc1d,
    mirror as mirror,
    pad_pairs as pad_pairs,
    permute_colours as permute_colours,
    random_colour_permutation as random_colour_permutation,
)
from ._data._arc1d_baselines import (
    ARC_VSA_OVERALL as ARC_VSA_OVERALL,
    CAX_NCA_OVERALL as CAX_NCA_OVERALL,
    CAX_NCA_PER_TYPE as CAX_NCA_PER_TYPE,
    GPT4_OBJECT_OVERALL as GPT4_OBJECT_OVERALL,
    GPT4_OVERALL as GPT4_OVERALL,
    GPT4_PER_TYPE as GPT4_PER_TYPE,
    SOURCES as SOURCES,
)
from ._families._arc1d_nca import (
    ADAPT as ADAPT,
    ARC_COLOURS as ARC_COLOURS,
    Arc1DNCA as Arc1DNCA,
    INVARIANTS as INVARIANTS,
    Arc1DTaskNCA as Arc1DTaskNCA,
    ColourRowPerceive as ColourRowPerceive,
    ColourUpdate as ColourUpdate,
    TaskRun as TaskRun,
    TaskUpdate as TaskUpdate,
    adapt as adapt,
    adapted_filter as adapted_filter,
    candidates as candidates,
    colour_groups as colour_groups,
    demonstrated_invariants as demonstrated_invariants,
    directional_context as directional_context,
    evaluate as evaluate,
    evaluate_task_id as evaluate_task_id,
    follows_rule as follows_rule,
    format_table as format_table,
    generate_task as generate_task,
    generate_tasks as generate_tasks,
    initial_states as initial_states,
    keeps_invariants as keeps_invariants,
    logits as logits,
    majority_row as majority_row,
    padded_length as padded_length,
    pairs_loss as pairs_loss,
    predict_task_id as predict_task_id,
    read_task_file as read_task_file,
    render_task as render_task,
    row_views as row_views,
    score as score,
    segment_means as segment_means,
    shift_bias as shift_bias,
    solve as solve,
    solve_task_file as solve_task_file,
    task_arrays as task_arrays,
    task_id_logits as task_id_logits,
    task_id_states as task_id_states,
    verified_rows as verified_rows,
    with_contexts as with_contexts,
)
from ._families._arc1d_nca._score import EVALUATE_OPTIONS as EVALUATE_OPTIONS
