"""Flow Lenia, public: the family, reintegration tracking and the parameter-localisation
mixers (Plantec et al. 2023).

    import cax_zoo
    model = cax_zoo.load("flow_lenia/5n7kkm")                  # CAX's Flow Lenia default
    local = cax_zoo.FlowLenia(num_channels=1, m=0.15, s=0.015, R=12, localise=["h"], mixing="sample")
"""

from ._families._flow_lenia import (
    LOCALISABLE as LOCALISABLE,
    MIXINGS as MIXINGS,
    FlowLenia as FlowLenia,
    mix_average as mix_average,
    mix_sample as mix_sample,
    overlaps as overlaps,
    reintegrate as reintegrate,
    sobel_gradient as sobel_gradient,
)

__all__ = ["LOCALISABLE", "MIXINGS", "FlowLenia", "mix_average", "mix_sample", "overlaps", "reintegrate",
           "sobel_gradient"]
