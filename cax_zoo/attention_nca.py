"""Attention neural CA (CAX's ViT NCA, Faldor & Cully 2025): the model, the pixel mask and
the MNIST inpainting evaluation.

``cax_zoo.create("attention_nca/mnist_inpaint", key=...)`` builds CAX's notebook
architecture; ``cax-zoo train attention_nca/mnist_inpaint`` trains it.
"""

from ._families._attention_nca import (
    EVAL_KEY as EVAL_KEY,
    MASK_KEY as MASK_KEY,
    AttentionNCA as AttentionNCA,
    evaluate as evaluate,
    inpaint as inpaint,
    mean_training_image as mean_training_image,
    score_inpainting as score_inpainting,
    visible_pixels as visible_pixels,
)
