"""Every family module; importing this package registers them all."""

from . import _elementary as _elementary
from . import _life as _life
from . import _particle_lenia as _particle_lenia
from . import _particle_life as _particle_life
from . import _boids as _boids
from . import _mnist_self_classify as _mnist_self_classify
from . import _reaction_diffusion as _reaction_diffusion
from . import _langton_ant as _langton_ant
from . import _sandpile as _sandpile
from . import _lenia as _lenia
from . import _growing_nca as _growing_nca
from . import _diffusing_nca as _diffusing_nca
from . import _conditional_nca as _conditional_nca
from . import _self_autoencoding_mnist as _self_autoencoding_mnist
from . import _unsupervised_nca as _unsupervised_nca
from . import _flow_lenia as _flow_lenia
from . import _arc1d_nca as _arc1d_nca
from . import _attention_nca as _attention_nca
