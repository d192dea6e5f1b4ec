"""The neural-CA core: N-dimensional perception and update modules, and the abstract NCA
that composes them (the :class:`~cax_zoo.GrowingNCA`, :class:`~cax_zoo.SelfClassifyingMNIST`
and :class:`~cax_zoo.Arc1DNCA` families are built on it).

- Perceive (``(*spatial, C) -> (*spatial, F)``): :class:`AbstractPerceive`;
  :class:`AbstractLocalPerceive` (fixed neighbour offsets, also usable on gathered
  neighbourhoods); :class:`KernelPerceive` (fixed identity / Sobel / Laplacian kernels
  per channel); :class:`ConvPerceive` (a learned convolution + ReLU);
  :class:`LocalAttentionPerceive` (multi-head self-attention over each cell's window).
- Update (``(state, features, input) -> state``): :class:`AbstractUpdate`;
  :class:`MLPUpdate`, :class:`ResidualUpdate`, :class:`NCAUpdate` (residual, fire rate,
  :class:`AliveMask`), all around a :class:`CellMLP` with a zero-initialised last layer.
- Model: :class:`AbstractNCA` (``step = update(state, perceive(state), input)``).
- Batched steps that run the MLP only where it can change the result:
  :func:`active_cell_steps` (an :class:`NCAUpdate` with a neighbourhood :class:`AliveMask`;
  the recipes' ``active_cells``); :func:`update_draws` (a stochastic update's fire mask and
  noise, shared by both paths).
- Variational decoding (CAX's ``nn/vae.py``): :class:`ConvEncoder` (image -> mean and
  log-variance of a latent), :func:`reparameterize`, :func:`kl_divergence`; the latent
  reaches an NCA as its per-step ``input``.
"""

from ._blocks._nca import (
    CellMLP as CellMLP,
    alive_mask as alive_mask,
    stochastic_update as stochastic_update,
    update_draws as update_draws,
)
from ._nca._active_cells import active_cell_steps as active_cell_steps
from ._nca._model import AbstractNCA as AbstractNCA, batch_states as batch_states
from ._nca._attention import LocalAttentionPerceive as LocalAttentionPerceive
from ._nca._perceive import (
    KERNELS as KERNELS,
    AbstractLocalPerceive as AbstractLocalPerceive,
    AbstractPerceive as AbstractPerceive,
    ConvPerceive as ConvPerceive,
    KernelPerceive as KernelPerceive,
    neighbourhood_patches as neighbourhood_patches,
    window_offsets as window_offsets,
)
from ._nca._update import (
    AbstractUpdate as AbstractUpdate,
    AliveMask as AliveMask,
    MLPUpdate as MLPUpdate,
    NCAUpdate as NCAUpdate,
    ResidualUpdate as ResidualUpdate,
    with_input as with_input,
)
from ._nca._vae import (
    ConvEncoder as ConvEncoder,
    kl_divergence as kl_divergence,
    reparameterize as reparameterize,
)
