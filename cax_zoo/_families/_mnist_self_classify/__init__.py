"""Self-classifying MNIST digits (Randazzo et al. 2020, Distill): the model
(:mod:`._model`), digit images (:mod:`._images`), the same rule on live-cell lists
(:mod:`._sparse`) and the test-set evaluation (:mod:`._evaluate`). Public as
:mod:`cax_zoo.mnist`."""

from ._evaluate import REPORT_STEPS as REPORT_STEPS, evaluate as evaluate
from ._images import as_grey as as_grey, draw_digit as draw_digit, image_to_digit as image_to_digit
from ._model import (
    CLASS_COLOURS as CLASS_COLOURS,
    NUM_CLASSES as NUM_CLASSES,
    SIDE as SIDE,
    SelfClassifyingMNIST as SelfClassifyingMNIST,
    majority as majority,
)
from ._sparse import (
    live_cell_batch as live_cell_batch,
    live_cells as live_cells,
    sparse_rollout as sparse_rollout,
    sparse_step as sparse_step,
)
