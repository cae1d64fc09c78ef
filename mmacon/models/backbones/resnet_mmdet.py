"""``AconResNet``, ``AconResNetV1c``, ``AconResNetV1d`` of mmdet's registry.

What ``type='AconResNet'`` builds in an mmdet config (``default_scope='mmdet'``):
mmdet's ``ResNet`` in every argument and default (``norm_eval=True``,
``stem_channels=None`` meaning ``base_channels``), with the ACON part of
:mod:`._resnet_acon` (``act_cfg``, ``act_placement``, ``conv_bias``). ``AconResNetV1c``
is mmdet's ``ResNet(deep_stem=True)`` (mmdet has no ``ResNetV1c``), ``AconResNetV1d``
mmdet's ``ResNetV1d``.
"""
from __future__ import annotations

from mmdet.models.backbones import resnet as mmdet_resnet
from mmdet.registry import MODELS

from ._resnet_acon import AconBasicBlockMixin, AconBottleneckMixin, AconResNetMixin


class AconBasicBlock(AconBasicBlockMixin, mmdet_resnet.BasicBlock):
    __doc__ = AconBasicBlockMixin.__doc__


class AconBottleneck(AconBottleneckMixin, mmdet_resnet.Bottleneck):
    __doc__ = AconBottleneckMixin.__doc__


@MODELS.register_module()
class AconResNet(AconResNetMixin, mmdet_resnet.ResNet):
    """mmdet's ``ResNet`` with ACON / Meta-ACON (mmdet's registry).

    Args:
        depth: 18, 34, 50, 101 or 152.
        act_cfg, act_placement, conv_bias: see :class:`AconResNetMixin`.
        **kwargs: mmdet's ``ResNet`` arguments, with mmdet's defaults.
    """

    upstream = mmdet_resnet.ResNet
    arch_settings = {
        18: (AconBasicBlock, (2, 2, 2, 2)),
        34: (AconBasicBlock, (3, 4, 6, 3)),
        50: (AconBottleneck, (3, 4, 6, 3)),
        101: (AconBottleneck, (3, 4, 23, 3)),
        152: (AconBottleneck, (3, 8, 36, 3)),
    }


@MODELS.register_module()
class AconResNetV1c(AconResNet):
    """mmdet's ``ResNet(deep_stem=True, avg_down=False)`` with ACON."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class AconResNetV1d(AconResNet):
    """mmdet's ``ResNetV1d`` with ACON."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
