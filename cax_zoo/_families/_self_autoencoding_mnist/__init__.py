"""Self-autoencoding MNIST (Faldor & Cully 2025, CAX): a 3-D neural CA that carries a digit
from one face of its grid to the other through a wall with one open cell. The model
(:mod:`._model`) and the MNIST test-set evaluation (:mod:`._evaluate`). Public as
:mod:`cax_zoo.self_autoencoding_mnist`."""

from ._evaluate import EVAL_KEY as EVAL_KEY, evaluate as evaluate, reconstruct as reconstruct, upsample as upsample
from ._model import SelfAutoencodingMNIST as SelfAutoencodingMNIST, WallUpdate as WallUpdate
from ._model import resize_digits as resize_digits, through_wall as through_wall
