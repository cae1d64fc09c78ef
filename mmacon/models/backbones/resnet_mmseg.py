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

from ._resnet_acon import declare_resnets

AconBasicBlock, AconBottleneck, AconResNet, AconResNetV1c, AconResNetV1d = declare_resnets(
    mmseg_resnet, MODELS, __name__,
    doc="""mmseg's ``ResNet`` with ACON / Meta-ACON (mmseg's registry).

Args:
    depth: 18, 34, 50, 101 or 152.
    act_cfg, act_placement, conv_bias: see :class:`AconResNetMixin`.
    **kwargs: mmseg's ``ResNet`` arguments, with mmseg's defaults.
""",
    v1c_doc="mmseg's ``ResNetV1c`` with ACON.",
    v1d_doc="mmseg's ``ResNetV1d`` with ACON.")
