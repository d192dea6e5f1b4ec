"""Every family module; importing this package registers them all."""

from . import _elementary as _elementary
from . import _life as _life
