"""The training machinery every recipe shares: the loop, optimisers, sample pools,
checkpoints, data parallelism, the recipe command line and releases.

A recipe (``recipes/<name>.py``) is a ``make_train_step`` plus a ``main`` built from these:
``parse_recipe_args`` -> ``begin`` -> ``drive`` -> ``finish`` (see ``cax_zoo/_training/_driver.py``).
"""

from ._training._driver import Trained as Trained, drive as drive, finish as finish
from ._validation import (  # one-line ConfigErrors for a recipe's own config fields
    check_choice as check_choice,
    check_float as check_float,
    check_int as check_int,
)
from ._training._card import (
    CardResult as CardResult,
    CardSpec as CardSpec,
    card_body as card_body,
    card_data as card_data,
    card_spec as card_spec,
    config_differences as config_differences,
    eval_command as eval_command,
    eval_on_heldout as eval_on_heldout,
    eval_with_steps as eval_with_steps,
    plain_eval as plain_eval,
    portable_command as portable_command,
    read_card_data as read_card_data,
    with_notes as with_notes,
    with_front_matter as with_front_matter,
)
from ._training._plots import (
    TRAINING_PLOT as TRAINING_PLOT,
    loss_curve_png as loss_curve_png,
    training_figures as training_figures,
)
from ._training._checkpoint import (
    has_checkpoint as has_checkpoint,
    key_data as key_data,
    load_checkpoint as load_checkpoint,
    save_checkpoint as save_checkpoint,
)
from ._training._data_parallel import (
    constrain_leading as constrain_leading,
    constrain_replicated as constrain_replicated,
    data_mesh as data_mesh,
    replicate as replicate,
    shard_leading as shard_leading,
    to_host_default as to_host_default,
)
from ._training._batches import padded_batches as padded_batches
from ._training._evolution import OpenES as OpenES, OpenESState as OpenESState, centred_ranks as centred_ranks
from ._training._loop import train_loop as train_loop
from ._training._rollout import rollout_up_to as rollout_up_to
from ._training._losses import rgba_mse as rgba_mse
from ._training._trainable import trainable_arrays as trainable_arrays
from ._training._widen import widen as widen
from ._training._optim import (
    make_optimizer as make_optimizer,
    make_schedule as make_schedule,
    normalize_per_parameter as normalize_per_parameter,
)
from ._training._pool import (
    circle_masks as circle_masks,
    order_by_loss as order_by_loss,
    pool_sample as pool_sample,
    pool_update as pool_update,
    replace_first as replace_first,
)
from ._training._recipe_cli import (
    STEP_FIELDS as STEP_FIELDS,
    RecipeRun as RecipeRun,
    apply_overrides as apply_overrides,
    begin as begin,
    check_recipe_config as check_recipe_config,
    initial_model as initial_model,
    parse_recipe_args as parse_recipe_args,
    run_main as run_main,
    with_config as with_config,
)
from ._training._release import (
    MAX_MEDIA_BYTES as MAX_MEDIA_BYTES,
    PREVIEW_GIF as PREVIEW_GIF,
    model_card as model_card,
    preview_gif as preview_gif,
    release_media as release_media,
    release_run as release_run,
)
