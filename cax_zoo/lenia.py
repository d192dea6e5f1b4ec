"""Lenia, public: kernels and growth functions, the rule PyTree and its random sampler, the
creature loaders (Chan's catalogue, CAX's patterns) and a creature's measures.

    import jax, cax_zoo
    from cax_zoo import lenia

    model = cax_zoo.load("lenia/5n7kkm")                       # CAX's default creature
    rule = jax.vmap(lambda k: lenia.sample_rule(k, num_channels=3))(jax.random.split(jax.random.key(0), 15))
    soup = cax_zoo.Lenia(R=12, T=2, state_scale=2, kernel_core="gaussian", growth="exponential",
                         num_channels=3, rule=rule)
    two = lenia.LeniaRule.from_config(num_channels=1, kernel_core="polynomial", m=[0.1, 0.2], s=0.02)

``LeniaRule.from_config`` is the one parser of the rule arguments that ``Lenia`` and
``FlowLenia`` share; a creature's ``rule_arrays()`` are such arguments.
"""

from ._data._cax_lenia import SETTINGS as CAX_SETTINGS, load_cax_pattern as load_cax_pattern
from ._data._lenia_catalogue import (
    Creature as Creature,
    KernelSpec as KernelSpec,
    find_creature as find_creature,
    load_catalogue as load_catalogue,
    parse_entry as parse_entry,
    parse_rle as parse_rle,
    tessellatium_gyrans as tessellatium_gyrans,
)
from ._families._lenia import (
    CREATURES as CREATURES,
    DESCRIPTIONS as DESCRIPTIONS,
    GROWTHS as GROWTHS,
    KERNEL_CORES as KERNEL_CORES,
    Lenia as Lenia,
    LeniaRule as LeniaRule,
    bell as bell,
    centre_of_mass as centre_of_mass,
    colour_ramp as colour_ramp,
    creature as creature,
    creature_metrics as creature_metrics,
    evaluate_creature as evaluate_creature,
    free_kernel as free_kernel,
    growth_function as growth_function,
    kernel_core as kernel_core,
    lenia_kernels as lenia_kernels,
    mass as mass,
    offset_distance as offset_distance,
    render_channels as render_channels,
    ring_kernel as ring_kernel,
    rule_as_lists as rule_as_lists,
    rule_from_arrays as rule_from_arrays,
    sample_rule as sample_rule,
)

__all__ = [
    "CAX_SETTINGS", "CREATURES", "Creature", "DESCRIPTIONS", "GROWTHS", "KERNEL_CORES", "KernelSpec",
    "Lenia", "LeniaRule", "bell", "centre_of_mass", "colour_ramp", "creature", "creature_metrics",
    "evaluate_creature", "find_creature", "free_kernel", "growth_function", "kernel_core",
    "lenia_kernels", "load_cax_pattern", "load_catalogue", "mass", "offset_distance", "parse_entry",
    "parse_rle", "render_channels", "ring_kernel", "rule_as_lists", "rule_from_arrays", "sample_rule",
    "tessellatium_gyrans",
]
