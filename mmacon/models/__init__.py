"""mmacon's modules, registered in mmengine's root ``MODELS``.

The activations (and :func:`acon_convert`) need torch, mmengine and mmcv only; the
backbones build on mmdet/mmseg classes and register when those are installed and
importable: mmseg and mmdet import mmcv's compiled ops (``mmcv._ext``), which mmcv-lite
lacks.
"""
from __future__ import annotations

from . import activations  # noqa: F401
from .acon_convert import acon_convert
from .activations import *  # noqa: F401,F403

_UPSTREAM = ('mmdet', 'mmseg', 'mmpretrain')
_MMCV_OPS = 'mmcv._ext'
_backbones_missing: str | None = None
try:
    from . import backbones  # noqa: F401
    from .backbones import *  # noqa: F401,F403
except ImportError as error:  # activations alone serve any PyTorch/OpenMMLab project
    if error.name == _MMCV_OPS:  # mmcv-lite has none; an mmcv built for another torch fails
        _backbones_missing = (
            f"mmdet/mmseg import mmcv's compiled ops and {_MMCV_OPS!r} is not importable "
            f'({str(error).splitlines()[0][:200]}); install mmcv with its ops built for '
            'this torch (MMCV_WITH_OPS=1, as `make install` does)')
    elif isinstance(error, ModuleNotFoundError) and (error.name or '').split('.')[0] in _UPSTREAM:
        _backbones_missing = f'{error.name.split(".")[0]!r} is not installed'
    else:
        raise


def __getattr__(name: str):
    if _backbones_missing is not None and not name.startswith('__'):
        raise AttributeError(
            f'mmacon.models has no {name!r}: the backbones were not registered because '
            f'{_backbones_missing}; the activations and acon_convert work without it')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
