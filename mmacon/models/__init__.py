from . import activations, backbones  # noqa: F401
from .acon_convert import acon_convert
from .activations import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
