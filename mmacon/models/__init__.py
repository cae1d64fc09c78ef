"""mmacon's modules, registered in mmengine's root ``MODELS``.

The activations (and :func:`acon_convert`) need torch, mmengine and mmcv only; the
backbones build on mmdet/mmseg classes and register when those are installed.
"""
from __future__ import annotations

from . import activations  # noqa: F401
from .acon_convert import acon_convert
from .activations import *  # noqa: F401,F403

_UPSTREAM = ('mmdet', 'mmseg', 'mmpretrain')
_backbones_error: ModuleNotFoundError | None = None
try:
    from . import backbones  # noqa: F401
    from .backbones import *  # noqa: F401,F403
except ModuleNotFoundError as error:  # activations alone serve any PyTorch/OpenMMLab project
    if (error.name or '').split('.')[0] not in _UPSTREAM:
        raise
    _backbones_error = error


def __getattr__(name: str):
    if _backbones_error is not None and not name.startswith('__'):
        raise AttributeError(
            f'mmacon.models has no {name!r}: the backbones were not registered because '
            f'{_backbones_error.name.split(".")[0]!r} is not installed; the activations '
            f'and acon_convert work without it')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
