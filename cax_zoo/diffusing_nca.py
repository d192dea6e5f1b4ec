"""Diffusing neural CA (Faldor & Cully 2025): the model, the noise and the evaluation.

``cax_zoo.load("diffusing_nca/lizard")`` turns noise into the lizard emoji.
"""

from ._families._diffusing_nca import (
    DiffusingNCA as DiffusingNCA,
    add_noise as add_noise,
    evaluate as evaluate,
)
