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

from ._resnet_acon import declare_resnets

AconBasicBlock, AconBottleneck, AconResNet, AconResNetV1c, AconResNetV1d = declare_resnets(
    mmdet_resnet, MODELS, __name__,
    doc="""mmdet's ``ResNet`` with ACON / Meta-ACON (mmdet's registry).

Args:
    depth: 18, 34, 50, 101 or 152.
    act_cfg, act_placement, conv_bias: see :class:`AconResNetMixin`.
    **kwargs: mmdet's ``ResNet`` arguments, with mmdet's defaults.
""",
    v1c_doc="mmdet's ``ResNet(deep_stem=True, avg_down=False)`` with ACON.",
    v1d_doc="mmdet's ``ResNetV1d`` with ACON.")
