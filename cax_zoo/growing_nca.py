"""Growing neural CA (Mordvintsev et al. 2020): the evaluation, target images (and the
``target.png`` a release ships) and damage.

The model is :class:`cax_zoo.GrowingNCA` (``cax_zoo.load("growing_nca/lizard")``).
"""

from ._families._growing_nca import (
    ALPHA as ALPHA,
    EMOJI_FONT as EMOJI_FONT,
    LIZARD as LIZARD,
    TARGET_FILE as TARGET_FILE,
    GrowingNCA as GrowingNCA,
    damage as damage,
    emoji_about as emoji_about,
    emoji_target as emoji_target,
    evaluate as evaluate,
    image_target as image_target,
    read_target_png as read_target_png,
    released_target as released_target,
    target_png as target_png,
    to_rgb as to_rgb,
)
