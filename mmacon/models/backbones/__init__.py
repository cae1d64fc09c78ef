"""ACON backbones. ``AconResNet*`` exist once per registry: the classes imported here are
the root registry's; mmdet's and mmseg's registries get their own (``resnet_mmdet``,
``resnet_mmseg``), registered when those packages are installed.

ShuffleNetV2, MobileNetV2 and TFNet need mmengine and mmcv only. The ResNet families
build on the toolboxes' ResNets, installed as extras: the root registry's and mmseg's on
mmsegmentation (``mmacon[seg]``), mmdet's on mmdet (``mmacon[det]``).
:data:`MISSING` says, for each class that is not registered, why, and what installs it.
"""
from importlib import import_module
from importlib.util import find_spec
from typing import Dict

from mmengine.registry import MODELS

from .mobilenet_v2 import AconMobileNetV2
from .shufflenet_v2 import AconShuffleNetV2
from .tfnet import TFNet

__all__ = ['AconShuffleNetV2', 'AconMobileNetV2', 'TFNet']
_RESNETS = ('AconResNet', 'AconResNetV1c', 'AconResNetV1d')
# class name -> why it is not registered and what installs it
MISSING: Dict[str, str] = {}


_DISTRIBUTIONS = dict(mmseg='mmsegmentation', mmdet='mmdet')


def _missing(package: str, extra: str) -> str:
    if find_spec(package) is None:
        return (f"it subclasses {package}'s ResNet, and {_DISTRIBUTIONS[package]} is not "
                f'installed: pip install "mmacon[{extra}]"')
    return (f"it subclasses {package}'s ResNet, and {package} cannot be imported without "
            "mmcv's compiled ops (mmcv-lite or a build without MMCV_WITH_OPS=1): install "
            'the full mmcv (README, "Two commands")')


def _import(module: str, package: str):
    """The module, or None where ``package`` (or the mmcv ops it needs) is missing."""
    try:
        return import_module(f'{__name__}.{module}')
    except ModuleNotFoundError as error:
        name = error.name or ''
        if name.split('.')[0] != package and not name.startswith('mmcv._ext'):
            raise
        return None


def _unavailable(name: str):
    def build(*args, **kwargs):
        raise ModuleNotFoundError(f'{name} cannot be built: {MISSING[name]}')
    build.__name__ = build.__qualname__ = f'{name}_unavailable'
    return build


if _import('resnet_mmseg', 'mmseg') is not None:  # registers in mmseg's MODELS
    from .resnet import AconResNet, AconResNetV1c, AconResNetV1d  # noqa: F401
    __all__ += list(_RESNETS)
else:
    MISSING.update(dict.fromkeys(_RESNETS, _missing('mmseg', 'seg')))
    for _name in _RESNETS:  # a config's type='AconResNet' gets the same message
        MODELS.register_module(_name, module=_unavailable(_name))
if _import('resnet_mmdet', 'mmdet') is None:  # registers in mmdet's MODELS
    MISSING.update({f'{name} (mmdet scope)': _missing('mmdet', 'det') for name in _RESNETS})
