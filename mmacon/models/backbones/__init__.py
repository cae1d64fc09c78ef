"""ACON backbones. ``AconResNet*`` exist once per registry: the classes imported here are
the root registry's; mmdet's and mmseg's registries get their own (``resnet_mmdet``,
``resnet_mmseg``), registered when those packages are installed."""
from importlib.util import find_spec

from .mobilenet_v2 import AconMobileNetV2
from .resnet import AconResNet, AconResNetV1c, AconResNetV1d
from .shufflenet_v2 import AconShuffleNetV2
from .tfnet import TFNet

if find_spec('mmdet') is not None:
    from . import resnet_mmdet  # noqa: F401  (registers in mmdet's MODELS)
if find_spec('mmseg') is not None:
    from . import resnet_mmseg  # noqa: F401  (registers in mmseg's MODELS)

__all__ = ['AconResNet', 'AconResNetV1c', 'AconResNetV1d', 'AconShuffleNetV2',
           'AconMobileNetV2', 'TFNet']
