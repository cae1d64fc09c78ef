"""mmacon: ACON / Meta-ACON activations and backbones for OpenMMLab 2.x.

Importing the package registers every module in mmengine's root ``MODELS``
registry (and :mod:`mmacon.engine`'s optimizer constructor and hook in theirs), so
``custom_imports = dict(imports=['mmacon'])`` is all a config needs.
"""
from .version import __version__
from . import models  # noqa: F401  (registers activations and backbones)
from . import engine  # noqa: F401  (registers the no-decay constructor and its check hook)
from .utils import checkpoint as _checkpoint  # noqa: F401  (torch safe globals for --resume)

__all__ = ['__version__', 'models', 'engine']
