"""Attention-based neural cellular automata (CAX's ViT NCA): cells perceive their 3x3
neighbourhood with multi-head self-attention; trained to inpaint MNIST digits. The model
(:mod:`._model`) and the MNIST test-set evaluation (:mod:`._evaluate`). Public as
:mod:`cax_zoo.attention_nca`."""

from ._evaluate import EVAL_KEY as EVAL_KEY, evaluate as evaluate, inpaint as inpaint
from ._evaluate import mean_training_image as mean_training_image, score_inpainting as score_inpainting
from ._model import MASK_KEY as MASK_KEY, AttentionNCA as AttentionNCA, mnist_inpaint as mnist_inpaint
from ._model import visible_pixels as visible_pixels
