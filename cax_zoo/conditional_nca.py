"""Growing conditional neural CA (Faldor & Cully 2025, CAX): the model, its targets and the
evaluation.

``cax_zoo.load("conditional_nca/animals")`` grows any of eight animal emoji from one seed:
``model.rollout(model.init_state(), model.steps, input=model.label("fox"), key=key)``.
"""

from ._families._conditional_nca import (
    ANIMAL_NAMES as ANIMAL_NAMES,
    ANIMALS as ANIMALS,
    ConditionalNCA as ConditionalNCA,
    LabelledUpdate as LabelledUpdate,
    animal_targets as animal_targets,
    evaluate as evaluate,
)
