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
from typing import Dict, Optional

from mmengine.registry import MODELS

from .mobilenet_v2 import AconMobileNetV2
from .shufflenet_v2 import AconShuffleNetV2
from .tfnet import TFNet

__all__ = ['AconShuffleNetV2', 'AconMobileNetV2', 'TFNet']
_RESNETS = ('AconResNet', 'AconResNetV1c', 'AconResNetV1d')
# class name -> why it is not registered and what installs it
MISSING: Dict[str, str] = {}


_DISTRIBUTIONS = dict(mmseg='mmsegmentation', mmdet='mmdet')


def _missing(package: str, extra: str, error: Optional[ImportError] = None) -> str:
    if find_spec(package) is None:
        return (f"it subclasses {package}'s ResNet, and {_DISTRIBUTIONS[package]} is not "
                f'installed: pip install "mmacon[{extra}]"')
    detail = f' ({str(error).splitlines()[0][:200]})' if error is not None and str(error) else ''
    return (f"it subclasses {package}'s ResNet, and {package} cannot be imported without "
            f"mmcv's compiled ops{detail} (mmcv-lite, a build without MMCV_WITH_OPS=1, or one "
            'built for another torch): install the full mmcv for this torch (README, "Two '
            'commands")')


def _import(module: str, package: str):
    """(the module or None, the ImportError) where ``package`` is missing or cannot load the
    mmcv ops it needs (``mmcv._ext``: absent in mmcv-lite, unloadable when built for
    another torch)."""
    try:
        return import_module(f'{__name__}.{module}'), None
    except ImportError as error:
        name = error.name or ''
        if name.startswith('mmcv._ext') or (isinstance(error, ModuleNotFoundError)
                                            and name.split('.')[0] == package):
            return None, error
        raise


def _unavailable(name: str):
    def build(*args, **kwargs):
        raise ModuleNotFoundError(f'{name} cannot be built: {MISSING[name]}')
    build.__name__ = build.__qualname__ = f'{name}_unavailable'
    return build


_module, _error = _import('resnet_mmseg', 'mmseg')  # registers in mmseg's MODELS
if _module is not None:
    from .resnet import AconResNet, AconResNetV1c, AconResNetV1d  # noqa: F401
    __all__ += list(_RESNETS)
else:
    MISSING.update(dict.fromkeys(_RESNETS, _missing('mmseg', 'seg', _error)))
    for _name in _RESNETS:  # a config's type='AconResNet' gets the same message
        MODELS.register_module(_name, module=_unavailable(_name))
_module, _error = _import('resnet_mmdet', 'mmdet')  # registers in mmdet's MODELS
if _module is None:
    MISSING.update({f'{name} (mmdet scope)': _missing('mmdet', 'det', _error)
                    for name in _RESNETS})
