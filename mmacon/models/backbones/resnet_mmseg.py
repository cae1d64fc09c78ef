"""``AconResNet``, ``AconResNetV1c``, ``AconResNetV1d`` of mmseg's registry.

What ``type='AconResNet'`` builds in an mmseg config (``default_scope='mmseg'``):
mmseg's ``ResNet`` in every argument and default (``norm_eval=False``,
``stem_channels=64``, ``contract_dilation``, ``multi_grid``), with the ACON part of
:mod:`._resnet_acon` (``act_cfg``, ``act_placement``, ``conv_bias``).
``AconResNetV1c``/``AconResNetV1d`` are mmseg's ``ResNetV1c``/``ResNetV1d``.
"""
from __future__ import annotations

from mmseg.models.backbones import resnet as mmseg_resnet
from mmseg.registry import MODELS

from ._resnet_acon import AconBasicBlockMixin, AconBottleneckMixin, AconResNetMixin


class AconBasicBlock(AconBasicBlockMixin, mmseg_resnet.BasicBlock):
    __doc__ = AconBasicBlockMixin.__doc__


class AconBottleneck(AconBottleneckMixin, mmseg_resnet.Bottleneck):
    __doc__ = AconBottleneckMixin.__doc__


@MODELS.register_module()
class AconResNet(AconResNetMixin, mmseg_resnet.ResNet):
    """mmseg's ``ResNet`` with ACON / Meta-ACON (mmseg's registry).

    Args:
        depth: 18, 34, 50, 101 or 152.
        act_cfg, act_placement, conv_bias: see :class:`AconResNetMixin`.
        **kwargs: mmseg's ``ResNet`` arguments, with mmseg's defaults.
    """

    upstream = mmseg_resnet.ResNet
    arch_settings = {
        18: (AconBasicBlock, (2, 2, 2, 2)),
        34: (AconBasicBlock, (3, 4, 6, 3)),
        50: (AconBottleneck, (3, 4, 6, 3)),
        101: (AconBottleneck, (3, 4, 23, 3)),
        152: (AconBottleneck, (3, 8, 36, 3)),
    }


@MODELS.register_module()
class AconResNetV1c(AconResNet):
    """mmseg's ``ResNetV1c`` with ACON."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class AconResNetV1d(AconResNet):
    """mmseg's ``ResNetV1d`` with ACON."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
