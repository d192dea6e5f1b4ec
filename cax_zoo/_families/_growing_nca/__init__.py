"""Growing neural cellular automata (Mordvintsev, Randazzo, Niklasson & Levin 2020,
Distill): the model (:mod:`._model`), target images (:mod:`._targets`) and the
grow / damage / regrow evaluation (:mod:`._evaluate`). Public as :mod:`cax_zoo.growing_nca`."""

from ._evaluate import evaluate as evaluate
from ._model import ALPHA as ALPHA, GrowingNCA as GrowingNCA, lizard as lizard, to_rgb as to_rgb
from ._targets import EMOJI_FONT as EMOJI_FONT, LIZARD as LIZARD, damage as damage
from ._targets import TARGET_FILE as TARGET_FILE, emoji_about as emoji_about, emoji_target as emoji_target
from ._targets import image_target as image_target, read_target_png as read_target_png
from ._targets import released_target as released_target, target_png as target_png
