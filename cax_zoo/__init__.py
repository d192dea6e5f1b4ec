"""cax_zoo: cellular automata ready to run, as Equinox modules with pretrained weights."""

from ._automaton import AbstractAutomaton as AbstractAutomaton, State as State
from ._boundary import BOUNDARIES as BOUNDARIES, Boundary as Boundary, pad as pad
from ._blocks._conv import (
    depthwise_conv as depthwise_conv,
    kernel_stack as kernel_stack,
    laplacian_kernel as laplacian_kernel,
    sobel_kernels as sobel_kernels,
)
from ._blocks._fft import centred_kernel_fft as centred_kernel_fft, fft_convolve as fft_convolve
from ._blocks._lookup import apply_table as apply_table, pattern_index as pattern_index
from ._blocks._nca import (
    CellMLP as CellMLP,
    alive_mask as alive_mask,
    stochastic_update as stochastic_update,
)
from ._blocks._neighbourhood import (
    neighbour_sum as neighbour_sum,
    neighbourhood_offsets as neighbourhood_offsets,
    shifted_views as shifted_views,
)
from ._errors import (
    CaxZooError as CaxZooError,
    ConfigError as ConfigError,
    DataError as DataError,
    HubError as HubError,
    RuleError as RuleError,
    StateError as StateError,
    UnknownModelError as UnknownModelError,
    WeightsError as WeightsError,
)
from ._grid import AbstractGridAutomaton as AbstractGridAutomaton
from ._life_patterns import PATTERNS as PATTERNS, parse_rle as parse_rle, place as place
from ._particles import ParticleState as ParticleState
from ._images import write_gif as write_gif, write_png as write_png
from ._registry import (
    create as create,
    family_name as family_name,
    get_entry as get_entry,
    list_models as list_models,
    register as register,
)
from ._pretrained import (
    load as load,
    load_pretrained as load_pretrained,
    picture_source as picture_source,
    push_to_hub as push_to_hub,
    release as release,
    save_pretrained as save_pretrained,
)
from ._weights import weights_root as weights_root
from ._weights import load_weights as load_weights, save_weights as save_weights
from ._sharding import grid_mesh as grid_mesh, sharded_rollout as sharded_rollout
from . import _families as _families  # registers every family
from ._families._arc1d_nca import Arc1DNCA as Arc1DNCA
from ._families._arc1d_nca import Arc1DTaskNCA as Arc1DTaskNCA
from ._families._boids import Boids as Boids
from ._families._elementary import Elementary as Elementary
from ._families._flow_lenia import FlowLenia as FlowLenia
from ._families._growing_nca import GrowingNCA as GrowingNCA
from ._families._attention_nca import AttentionNCA as AttentionNCA
from ._families._diffusing_nca import DiffusingNCA as DiffusingNCA
from ._families._conditional_nca import ConditionalNCA as ConditionalNCA
from ._families._self_autoencoding_mnist import SelfAutoencodingMNIST as SelfAutoencodingMNIST
from ._families._unsupervised_nca import UnsupervisedNCA as UnsupervisedNCA
from ._families._langton_ant import AntState as AntState, LangtonAnt as LangtonAnt
from ._families._lenia import Lenia as Lenia
from ._families._life import Life as Life
from ._families._mnist_self_classify import SelfClassifyingMNIST as SelfClassifyingMNIST
from ._families._particle_lenia import ParticleLenia as ParticleLenia
from ._families._particle_life import ParticleLife as ParticleLife
from ._families._reaction_diffusion import GrayScott as GrayScott
from ._families._sandpile import Sandpile as Sandpile

__version__ = "0.1.0"


def render(model: AbstractAutomaton, state: State):
    """An RGB uint8 image of one state of ``model`` (see ``model.render``)."""
    return model.render(state)
