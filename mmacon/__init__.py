"""mmacon: ACON / Meta-ACON activations and backbones for OpenMMLab 2.x.

Importing the package registers every module in mmengine's root ``MODELS``
registry (and :mod:`mmacon.engine`'s optimizer constructor and hook in theirs), so
``custom_imports = dict(imports=['mmacon'])`` is all a config needs.
The activations, AconConvert and the ShuffleNetV2 / MobileNetV2 / TFNet backbones need
only torch, mmengine and mmcv; the ResNet backbones register when mmseg / mmdet are
installed (the ``seg`` / ``det`` extras, see :mod:`mmacon.models`).

Where mmengine or mmcv is not installed, nothing is registered and the package holds
only the kernels, :mod:`mmacon.ops`, which need torch alone (e.g. on a machine that
only runs them); ``import mmacon.models`` then raises naming the missing package.
"""
from __future__ import annotations

from .version import __version__

_OPENMMLAB = ('mmengine', 'mmcv')
_registration_error: ModuleNotFoundError | None = None
try:
    from . import models  # noqa: F401  (registers activations and backbones)
    from . import engine  # noqa: F401  (registers the no-decay constructor and its check hook)
except ModuleNotFoundError as error:  # torch alone: mmacon.ops still imports
    if (error.name or '').split('.')[0] not in _OPENMMLAB:
        raise
    _registration_error = error

__all__ = ['__version__', 'models', 'engine']
