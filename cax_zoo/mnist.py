"""Self-classifying MNIST (Randazzo et al. 2020): the MNIST loader, the test-set
evaluation, digit images and the majority vote.

The model is :class:`cax_zoo.SelfClassifyingMNIST` (``cax_zoo.load("mnist_self_classify")``).
"""

from ._data._mnist import load_mnist as load_mnist
from ._families._mnist_self_classify import (
    CLASS_COLOURS as CLASS_COLOURS,
    NUM_CLASSES as NUM_CLASSES,
    REPORT_STEPS as REPORT_STEPS,
    SelfClassifyingMNIST as SelfClassifyingMNIST,
    draw_digit as draw_digit,
    evaluate as evaluate,
    image_to_digit as image_to_digit,
    live_cell_batch as live_cell_batch,
    live_cells as live_cells,
    majority as majority,
    sparse_rollout as sparse_rollout,
    sparse_step as sparse_step,
)
