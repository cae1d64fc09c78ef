"""mmacon: ACON / Meta-ACON activations and backbones for OpenMMLab 2.x.

Importing the package registers every module in mmengine's root ``MODELS``
registry (and :mod:`mmacon.engine`'s optimizer constructor and hook in theirs), so
``custom_imports = dict(imports=['mmacon'])`` is all a config needs.
The activations need only torch, mmengine and mmcv; the backbones register when
mmdet/mmseg are installed (see :mod:`mmacon.models`).
"""
from .version import __version__
from . import models  # noqa: F401  (registers activations and backbones)
from . import engine  # noqa: F401  (registers the no-decay constructor and its check hook)

__all__ = ['__version__', 'models', 'engine']
