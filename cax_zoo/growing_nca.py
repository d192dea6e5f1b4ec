"""Growing neural CA (Mordvintsev et al. 2020): the evaluation, target images and damage.

The model is :class:`cax_zoo.GrowingNCA` (``cax_zoo.load("growing_nca/lizard")``).
"""

from ._families._growing_nca import (
    ALPHA as ALPHA,
    EMOJI_FONT as EMOJI_FONT,
    LIZARD as LIZARD,
    GrowingNCA as GrowingNCA,
    damage as damage,
    emoji_target as emoji_target,
    evaluate as evaluate,
    image_target as image_target,
    to_rgb as to_rgb,
)
