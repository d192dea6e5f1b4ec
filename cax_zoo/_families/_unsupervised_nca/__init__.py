"""Growing unsupervised neural cellular automata (Faldor & Cully 2025, CAX): a variational
autoencoder whose decoder is an NCA that grows the image from one seed cell, conditioned
on the latent. The model (:mod:`._model`) and the MNIST test-set evaluation
(:mod:`._evaluate`). Public as :mod:`cax_zoo.unsupervised_nca`."""

from ._evaluate import (
    EVAL_KEY as EVAL_KEY,
    evaluate as evaluate,
    mean_training_digit as mean_training_digit,
    squared_errors as squared_errors,
)
from ._model import LatentUpdate as LatentUpdate, UnsupervisedNCA as UnsupervisedNCA, mnist as mnist
