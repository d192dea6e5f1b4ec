"""Lenia (Chan 2019, 2020; CAX): kernels and growth, the rule PyTree, the model, measures,
colour ramp, registered creatures and their evaluation, one concept per module."""

from ._eval import evaluate_creature as evaluate_creature
from ._kernels import (
    GROWTHS as GROWTHS,
    KERNEL_CORES as KERNEL_CORES,
    bell as bell,
    free_kernel as free_kernel,
    growth_function as growth_function,
    kernel_core as kernel_core,
    offset_distance as offset_distance,
    ring_kernel as ring_kernel,
)
from ._metrics import centre_of_mass as centre_of_mass, creature_metrics as creature_metrics, mass as mass
from ._model import Lenia as Lenia, lenia_kernels as lenia_kernels
from ._presets import CREATURES as CREATURES, DESCRIPTIONS as DESCRIPTIONS, creature as creature
from ._render import colour_ramp as colour_ramp, render_channels as render_channels
from ._rule import (
    LeniaRule as LeniaRule,
    rule_as_lists as rule_as_lists,
    rule_from_arrays as rule_from_arrays,
    sample_rule as sample_rule,
)
