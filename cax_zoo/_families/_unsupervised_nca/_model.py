"""The growing unsupervised NCA: a variational autoencoder whose decoder is a neural CA
that grows the image from one seed cell, conditioned on the latent code.

State ``(H, W, C)`` float32; the last channel is both the grey image (0-1) and the alive
channel. The encoder (:class:`~cax_zoo.nca.ConvEncoder`, CAX's) maps a digit to the mean
and log-variance of a latent ``z``; the NCA receives ``z`` at every step as its input
(``rollout(state, n, input=z)``), appended to every cell's perception. One step is CAX's:
perceive (identity + the two Sobel gradients per channel, fixed), NCA update (residual
ReLU MLP with a zero-initialised output layer, each cell firing with probability
``fire_rate`` = CAX's cell dropout, and the alive mask on the last channel).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..._blocks._nca import CellMLP, require_key
from ..._boundary import Boundary, check_boundary
from ..._errors import ConfigError, StateError
from ..._image_input import check_image, to_grey
from ..._nca._model import AbstractNCA, batch_states
from ..._nca._perceive import KernelPerceive
from ..._nca._update import AbstractUpdate, AliveMask, NCAUpdate
from ..._nca._vae import ConvEncoder, reparameterize
from ..._registry import register
from ..._training._card import CardResult, CardSpec
from ..._validation import MAX_CHANNELS, MAX_HIDDEN, MAX_STEPS, check_float, check_int, check_int_tuple
from .._mnist_self_classify._images import draw_digit

ALIVE_THRESHOLD = 0.1  # CAX's NCAUpdate: a cell lives if its 3x3 neighbourhood's last channel exceeds it
MAX_SIZE = 256
MAX_LATENT = 1024


def _evaluate(model, **kw):
    from ._evaluate import evaluate

    return evaluate(model, **kw)


class LatentUpdate(AbstractUpdate):
    """The NCA update (``nca``) given the latent ``(L,)`` (or one per cell,
    ``(*spatial, L)``) as its input; without an input (``None``) the latent is zero, the
    prior's mean."""

    nca: NCAUpdate
    latent_size: int = eqx.field(static=True)

    def __call__(self, state, features, input=None, *, key=None):
        if input is None:
            input = jnp.zeros((self.latent_size,), features.dtype)
        elif jnp.shape(input)[-1:] != (self.latent_size,):
            raise StateError(f"the input of an unsupervised NCA step is a latent of size {self.latent_size}, "
                             f"got shape {tuple(jnp.shape(input))}")
        return self.nca(state, features, input, key=key)


def _test_set_eval(name: str, metrics) -> str:
    """``cax-zoo eval NAME`` for cards that carry its test-set figures (``mse``); none for a
    card with only the recipe's validation figures."""
    return f"cax-zoo eval {name}" if "mse" in metrics else ""


CARD = CardSpec(
    task_type="image-to-image", task_name="Image reconstruction (variational autoencoder)",
    dataset_type="ylecun/mnist", dataset_name="MNIST", dataset_split="test",
    datasets=("ylecun/mnist",), tags=("neural-cellular-automata", "unsupervised-nca", "vae"),
    results=(
        CardResult("mse", "mse", "MSE of the grown digit to the input digit"),
        CardResult("baseline_mse", "mse", "MSE of the mean training digit (baseline)"),
    ),
    eval_command=_test_set_eval,
)
"""What the unsupervised NCA's cards declare (Hub ``model-index``, the eval command)."""

PAPER = ("Faldor & Cully 2025, ICLR, 'CAX: Cellular Automata Accelerated in JAX' (arXiv:2410.02651), "
         "growing unsupervised NCA")


@register(
    "unsupervised_nca",
    description="Growing unsupervised neural CA: a VAE whose decoder is an NCA that grows the digit from one "
                "seed cell, conditioned on the encoded latent",
    paper=PAPER,
    tags=("neural", "2d", "morphogenesis", "generative", "mnist"),
    recipe="recipes.unsupervised_nca",
    evaluate=_evaluate,
    card=CARD,
)
class UnsupervisedNCA(AbstractNCA):
    """Growing unsupervised NCA. State ``(size, size, num_channels)`` float32, the image
    in the last channel; ``encoder`` maps ``(*B, size, size, 1)`` images to the mean and
    log-variance of a ``latent_size`` latent, which the NCA takes as its per-step input.

    ``encoder_features``: the encoder's channels, input first (CAX: ``(1, 32, 32)``, two
    stride-2 convolutions); ``steps``: the number of steps it was trained to grow in (the
    default of :meth:`decode` and of :func:`~cax_zoo.unsupervised_nca.evaluate`).
    ``key`` initialises the encoder and the MLP (required). Defaults are CAX's notebook
    (28x28, latent 8, 32 channels, hidden 256, fire rate 0.5, 64 steps).
    """

    perceive: KernelPerceive
    update: LatentUpdate
    encoder: ConvEncoder
    num_channels: int = eqx.field(static=True)
    hidden_units: int = eqx.field(static=True)
    latent_size: int = eqx.field(static=True)
    encoder_features: tuple[int, ...] = eqx.field(static=True)
    fire_rate: float = eqx.field(static=True)
    size: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    boundary: Boundary = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, *, size: int = 28, latent_size: int = 8, num_channels: int = 32, hidden_units: int = 256,
                 encoder_features: tuple[int, ...] = (1, 32, 32), fire_rate: float = 0.5, steps: int = 64,
                 boundary: Boundary = "zero", key: PRNGKeyArray | None = None):
        self.size = check_int("size", size, minimum=4, maximum=MAX_SIZE)
        self.latent_size = check_int("latent_size", latent_size, minimum=1, maximum=MAX_LATENT)
        self.num_channels = check_int("num_channels", num_channels, minimum=1, maximum=MAX_CHANNELS)
        self.hidden_units = check_int("hidden_units", hidden_units, minimum=1, maximum=MAX_HIDDEN)
        self.encoder_features = check_int_tuple("encoder_features", encoder_features, minimum=1,
                                                maximum=MAX_CHANNELS, max_length=9)
        if len(self.encoder_features) < 2 or self.encoder_features[0] != 1:
            raise ConfigError(f"encoder_features must start with 1 (grey images) and list at least one convolution, "
                              f"got {list(encoder_features)!r}")
        self.fire_rate = check_float("fire_rate", fire_rate, minimum=0.0, maximum=1.0, open_minimum=True)
        self.steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
        self.boundary = check_boundary(boundary)
        self.num_spatial_dims = 2
        k_enc, k_mlp = jax.random.split(require_key(key))
        c = self.num_channels
        self.encoder = ConvEncoder((self.size, self.size), self.encoder_features, self.latent_size, key=k_enc)
        self.perceive = KernelPerceive(("identity", "sobel"), num_spatial_dims=2, num_channels=c,
                                       boundary=self.boundary)
        mlp = CellMLP([self.perceive.num_features + self.latent_size, self.hidden_units, c], key=k_mlp)
        alive = AliveMask(c - 1, ALIVE_THRESHOLD, boundary=self.boundary)
        self.update = LatentUpdate(NCAUpdate(mlp, fire_rate=self.fire_rate, alive=alive), self.latent_size)

    def config(self) -> dict[str, Any]:
        return {"size": self.size, "latent_size": self.latent_size, "num_channels": self.num_channels,
                "hidden_units": self.hidden_units, "encoder_features": list(self.encoder_features),
                "fire_rate": self.fire_rate, "steps": self.steps, "boundary": self.boundary}

    # ------------------------------------------------------------------ encoding
    def digits(self, images: Any) -> Float[Array, "*B S S"]:
        """Grey images ``(*B, size, size)``, uint8 0-255 or float 0-1, as float32 0-1
        (the values of numpy images are checked; JAX arrays, possibly traced, are not)."""
        concrete = not isinstance(images, jax.Array)  # numpy (or a list): values checked here
        x = images if not concrete else np.asarray(images)
        s = self.size
        if x.ndim < 2 or tuple(x.shape[-2:]) != (s, s):
            raise StateError(f"unsupervised_nca takes grey images of shape (*batch, {s}, {s}), got shape "
                             f"{tuple(x.shape)}")
        kind = np.dtype(x.dtype).kind
        if kind not in "fiu":
            raise StateError(f"images must be uint8 (0-255) or float (0-1), got dtype {np.dtype(x.dtype).name}")
        if np.dtype(x.dtype) == np.uint8:
            return jnp.asarray(x, jnp.float32) / 255.0
        if concrete and x.size and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
            raise StateError("float images must be finite and lie in [0, 1] (use uint8 for 0-255 grey levels)")
        return jnp.asarray(x, jnp.float32)

    def encode(self, images: Any) -> tuple[Float[Array, "*B L"], Float[Array, "*B L"]]:
        """``(mean, logvar)`` of the latent of each image ``(*B, size, size)`` (see
        :meth:`digits`)."""
        return self.encoder(self.digits(images)[..., None])

    def encode_sample(self, images: Any, key: PRNGKeyArray) -> Float[Array, "*B L"]:
        """A latent drawn from each image's posterior (:func:`~cax_zoo.nca.reparameterize`)."""
        mean, logvar = self.encode(images)
        return reparameterize(mean, logvar, key)

    # ------------------------------------------------------------------ growing
    def init_state(self, size=None, *, key: PRNGKeyArray | None = None, batch_size: int | None = None):
        """CAX's seed: zeros, with the last channel of the centre cell 1 (``size`` default
        the model's; ``key`` plays no part: every seed is the same)."""
        h, w = self.spatial_shape(size, self.size, batch=batch_size or 1)

        def one(_):
            return jnp.zeros((h, w, self.num_channels), jnp.float32).at[h // 2, w // 2, -1].set(1.0)

        return batch_states(one, batch_size, None)

    def _steps(self, steps) -> int:
        return self.steps if steps is None else check_int("steps", steps, minimum=0, maximum=MAX_STEPS)

    def grow(self, latents: Float[Array, "*B L"], *, key: PRNGKeyArray | None = None,
             steps: int | None = None) -> Float[Array, "*B S S C"]:
        """The states grown from seeds in ``steps`` steps (default :attr:`steps`), one per
        latent ``(L,)`` or ``(B, L)``; ``key`` draws which cells fire (None: all do)."""
        z = jnp.asarray(latents, jnp.float32)
        if z.ndim not in (1, 2) or z.shape[-1] != self.latent_size:
            raise StateError(f"latents must have shape ({self.latent_size},) or (B, {self.latent_size}), "
                             f"got shape {tuple(z.shape)}")
        seeds = self.init_state(batch_size=None if z.ndim == 1 else z.shape[0])
        return self.rollout(seeds, self._steps(steps), input=z, key=key)

    def decode(self, latents: Float[Array, "*B L"], *, key: PRNGKeyArray | None = None,
               steps: int | None = None) -> Float[Array, "*B S S"]:
        """The grey images (last channel, unclipped) grown from ``latents`` (see :meth:`grow`)."""
        return self.grow(latents, key=key, steps=steps)[..., -1]

    def reconstruct(self, images: Any, *, key: PRNGKeyArray | None = None,
                    steps: int | None = None) -> Float[Array, "*B S S"]:
        """``images`` ``(S, S)`` or ``(B, S, S)`` encoded (the latent mean) and grown back."""
        mean, _ = self.encode(images)
        return self.decode(mean, key=key, steps=steps)

    def sample(self, key: PRNGKeyArray, num: int, *, steps: int | None = None) -> Float[Array, "num S S"]:
        """``num`` images grown from latents drawn from the prior ``N(0, I)``."""
        num = check_int("num", num, minimum=1, maximum=100_000)
        k_z, k_grow = jax.random.split(require_key(key))
        return self.decode(jax.random.normal(k_z, (num, self.latent_size)), key=k_grow, steps=steps)

    def cli_setup(self, *, size=None, key=None, image=None):
        """``(seed, latent)`` for ``cax-zoo run``: the latent mean of ``image`` (a
        ``size`` x ``size`` grey or RGB(A) uint8 picture of a digit; dark on light is
        inverted), else of a digit drawn with Pillow's default font (``key`` picks which,
        default 3)."""
        if image is None:
            digit = 3 if key is None else int(jax.random.randint(key, (), 0, 10))
            grey = draw_digit(digit).astype(np.float32) / 255.0
            if self.size != grey.shape[0]:
                grey = np.asarray(jax.image.resize(grey, (self.size, self.size), "linear", antialias=True))
        else:
            img = np.asarray(image)
            if img.ndim not in (2, 3) or img.shape[:2] != (self.size, self.size):
                raise ConfigError(f"unsupervised_nca encodes {self.size}x{self.size} digit images, got an image of "
                                  f"shape {img.shape[:2]}")
            grey = to_grey(check_image(img, what="digit image"))
            if grey.mean() > 0.5:
                grey = 1.0 - grey
        mean, _ = self.encode(np.clip(grey, 0.0, 1.0).astype(np.float32))
        return self.init_state(size), mean

    def render(self, state) -> np.ndarray:
        """The last channel (the image) in grey, clipped to [0, 1]: ``(H, W, 3)`` uint8."""
        s = np.asarray(jax.device_get(state), np.float32)
        if s.ndim != 3:
            raise StateError(f"render takes one unbatched state (H, W, C), got shape {s.shape}")
        grey = (np.clip(s[..., -1], 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)


@register("unsupervised_nca/mnist",
          description="Growing unsupervised NCA trained on MNIST: encodes a digit to an 8-d latent and grows it "
                      "back from one cell",
          tags=("neural", "2d", "morphogenesis", "generative", "mnist", "pretrained"),
          paper=PAPER, recipe="recipes.unsupervised_nca", evaluate=_evaluate, card=CARD)
def mnist(**config) -> UnsupervisedNCA:
    """The MNIST unsupervised NCA's architecture (weights from weights/)."""
    return UnsupervisedNCA(**config)
