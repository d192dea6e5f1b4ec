"""Self-autoencoding MNIST (Faldor & Cully 2025, CAX): the 3-D model, its wall, the digit
resizing, batched reconstruction and the MNIST test-set evaluation.

``cax_zoo.create("self_autoencoding_mnist", key=...)`` builds a fresh model (CAX's
28x28x42 grid by default); the recipe ``recipes/self_autoencoding_mnist.py`` trains one.
"""

from ._families._self_autoencoding_mnist import (
    EVAL_KEY as EVAL_KEY,
    SelfAutoencodingMNIST as SelfAutoencodingMNIST,
    WallUpdate as WallUpdate,
    evaluate as evaluate,
    reconstruct as reconstruct,
    resize_digits as resize_digits,
    through_wall as through_wall,
    upsample as upsample,
)
