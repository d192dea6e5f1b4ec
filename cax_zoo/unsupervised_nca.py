"""Growing unsupervised neural CA (Faldor & Cully 2025, CAX): a VAE whose decoder is an NCA
that grows the digit from one seed cell, conditioned on the encoded latent; the model, its
latent-conditioned update and the MNIST test-set evaluation.

``cax_zoo.create("unsupervised_nca", key=...)`` builds a fresh model (CAX's notebook
config); the recipe ``recipes/unsupervised_nca.py`` trains one. The encoder and the VAE
functions are the core's (:mod:`cax_zoo.nca`: ``ConvEncoder``, ``reparameterize``,
``kl_divergence``).
"""

from ._families._unsupervised_nca import (
    EVAL_KEY as EVAL_KEY,
    LatentUpdate as LatentUpdate,
    UnsupervisedNCA as UnsupervisedNCA,
    evaluate as evaluate,
    mean_training_digit as mean_training_digit,
    squared_errors as squared_errors,
)
