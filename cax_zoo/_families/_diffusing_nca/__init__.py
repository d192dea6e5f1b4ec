"""Diffusing neural cellular automata (Faldor & Cully 2025, CAX): an NCA trained like a
diffusion model's denoiser, that turns noise into its target image. The model
(:mod:`._model`) and the from-noise / regrowth evaluation (:mod:`._evaluate`). Public as
:mod:`cax_zoo.diffusing_nca`."""

from ._evaluate import evaluate as evaluate
from ._model import DiffusingNCA as DiffusingNCA, add_noise as add_noise, lizard as lizard
