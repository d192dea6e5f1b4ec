"""Growing conditional neural cellular automata (Faldor & Cully 2025, CAX): one NCA that
grows any of its targets from a seed, chosen by a label given as input to every step.
The model (:mod:`._model`) and the grow / regrow evaluation (:mod:`._evaluate`). Public
as :mod:`cax_zoo.conditional_nca`."""

from ._evaluate import evaluate as evaluate
from ._model import ANIMAL_NAMES as ANIMAL_NAMES, ANIMALS as ANIMALS, ConditionalNCA as ConditionalNCA
from ._model import LabelledUpdate as LabelledUpdate, animal_targets as animal_targets, animals as animals
