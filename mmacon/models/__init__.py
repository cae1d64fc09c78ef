"""mmacon's modules, registered in mmengine's root ``MODELS``.

The activations, :func:`acon_convert` and the ShuffleNetV2 / MobileNetV2 / TFNet
backbones need torch, mmengine and mmcv only; the ResNet backbones build on mmseg's and
mmdet's classes and register when those are installed (the ``seg`` / ``det`` extras).
"""
from __future__ import annotations

from . import activations  # noqa: F401
from . import backbones  # noqa: F401
from .acon_convert import acon_convert  # noqa: F401
from .activations import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403


def __getattr__(name: str):
    why = backbones.MISSING.get(name)
    if why is not None:
        raise AttributeError(f'mmacon.models has no {name!r}: {why}')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
