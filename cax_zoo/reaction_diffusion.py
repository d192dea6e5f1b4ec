"""Reaction-diffusion, public: Gray-Scott, Pearson's named presets, the Laplacian stencils
and the connected-component labelling used to count spots.

    import cax_zoo
    from cax_zoo import reaction_diffusion as rd

    model = cax_zoo.load("reaction_diffusion/mitosis")
    labels, count = rd.label_components(model.rollout(model.init_state(), 2000)[..., 1] > 0.2)
"""

from ._families._reaction_diffusion import (
    PEARSON_DU as PEARSON_DU,
    PRESETS as PRESETS,
    GrayScott as GrayScott,
    label_components as label_components,
    laplacian as laplacian,
)

__all__ = ["PEARSON_DU", "PRESETS", "GrayScott", "label_components", "laplacian"]
