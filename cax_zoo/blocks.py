"""Building blocks the families are made of: neighbourhoods, depthwise and FFT convolutions,
lookup tables, bit-packed grids and particle cell lists.

Everything here is a pure function over arrays (or a small Equinox module), usable on its own.
"""

from ._blocks._bitpack import (
    PackedGrid as PackedGrid,
    life_step_packed as life_step_packed,
    elementary_step_packed as elementary_step_packed,
    pack as pack,
    unpack as unpack,
)
from ._blocks._cell_list import (
    NEIGHBOUR_METHODS as NEIGHBOUR_METHODS,
    displacement as displacement,
    find_neighbours as find_neighbours,
    neighbour_pairs as neighbour_pairs,
    periodic_grid as periodic_grid,
)
from ._blocks._conv import (
    depthwise_conv as depthwise_conv,
    fixed_depthwise_conv as fixed_depthwise_conv,
    identity_kernel as identity_kernel,
    kernel_stack as kernel_stack,
    laplacian_kernel as laplacian_kernel,
    sobel_kernels as sobel_kernels,
)
from ._blocks._fft import centred_kernel_fft as centred_kernel_fft, fft_convolve as fft_convolve
from ._blocks._lookup import apply_table as apply_table, pattern_index as pattern_index
from ._blocks._neighbourhood import (
    neighbour_sum as neighbour_sum,
    neighbourhood_offsets as neighbourhood_offsets,
    shifted_views as shifted_views,
)
from ._boundary import BOUNDARIES as BOUNDARIES, Boundary as Boundary, pad as pad
