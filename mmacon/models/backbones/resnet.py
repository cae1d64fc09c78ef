"""ResNet with ACON activations (ResNet-ACON / ResNet-Meta-ACON, Ma et al., CVPR 2021).

Three families of the same network, one per registry (see docs/backbones.md):

- mmdet's registry (``default_scope='mmdet'``): :mod:`.resnet_mmdet`, subclasses of
  mmdet's ``ResNet`` with all of its defaults (``norm_eval=True``, ``stem_channels=None``
  meaning ``base_channels``);
- mmseg's registry: :mod:`.resnet_mmseg`, subclasses of mmseg's ``ResNet``
  (``norm_eval=False``, ``stem_channels=64``, ``contract_dilation``, ``multi_grid``);
- mmengine's root registry (mmpretrain, plain mmengine, ``from mmacon.models import``):
  the classes here, on mmseg's ``ResNet`` (its arguments are a superset of mmdet's) with
  ``stem_channels=None`` meaning ``base_channels`` and ``norm_eval=False``.

The ACON part is written once, in :mod:`._resnet_acon`. State-dict layout (torchvision
/ mmdet names, as the official checkpoints)::

    conv1.weight, bn1.*                                   # stem (7x7)
    layer1.0.conv1.weight, layer1.0.bn1.*, ...conv3, bn3  # bottleneck convs and norms
    layer1.0.acon.p1, layer1.0.acon.p2                    # ACON after conv2/bn2
    layer1.0.acon.fc1.*, .bn1.*, .fc2.*, .bn2.*           # Meta-ACON generator
    layer1.0.downsample.0.weight, layer1.0.downsample.1.* # projection shortcut

``conv_bias=True`` adds ``.bias`` to every convolution above (stem, block, downsample).
"""
from __future__ import annotations

from mmengine.registry import MODELS
from mmseg.models.backbones import resnet as mmseg_resnet

from ._resnet_acon import declare_resnets

ROOT_DOC = """ResNet backbone with ACON / Meta-ACON activations (root registry).

Takes every argument of mmdet's and mmseg's ``ResNet`` with the same meaning, plus
``act_cfg``, ``act_placement`` and ``conv_bias`` (see :class:`AconResNetMixin`).
Defaults: mmseg's, except ``stem_channels=None`` meaning ``base_channels`` (mmdet's
and mmpretrain's stem). Inside an mmdet or mmseg config ``type='AconResNet'`` gets
that package's class instead (:mod:`.resnet_mmdet`, :mod:`.resnet_mmseg`).

Args:
    depth: 18, 34, 50, 101 or 152.
    act_cfg: default ``dict(type='MetaAconC')``; ``None``: plain ReLU.
    act_placement: ``'paper'`` (default) or ``'all'``.
    conv_bias: biases on every convolution (official checkpoints).
    with_cp: non-reentrant ``torch.utils.checkpoint`` where ACON is on.
    others: as mmseg's ``ResNet``.

Shape: (N, 3, H, W) -> tuple of (N, base_channels * 2**i * expansion, H / s_i, W / s_i)
for i in ``out_indices``, s_i = 4 * prod(strides[:i + 1]).

Example:
    >>> model = AconResNet(depth=50, out_indices=(3, ))
    >>> [tuple(o.shape) for o in model.eval()(torch.rand(1, 3, 224, 224))]
    [(1, 2048, 7, 7)]
"""

AconBasicBlock, AconBottleneck, AconResNet, AconResNetV1c, AconResNetV1d = declare_resnets(
    mmseg_resnet, MODELS, __name__, defaults=dict(stem_channels=None), doc=ROOT_DOC,
    v1c_doc='AconResNet with the deep stem (three 3x3 convs), as ``ResNetV1c``.',
    v1d_doc='AconResNet with the deep stem and avg-pool downsampling, as ``ResNetV1d``.')
