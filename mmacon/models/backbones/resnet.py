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

from collections.abc import Sequence

from mmengine.registry import MODELS
from mmseg.models.backbones import resnet as mmseg_resnet

from ._resnet_acon import AconBasicBlockMixin, AconBottleneckMixin, AconResNetMixin


class AconBasicBlock(AconBasicBlockMixin, mmseg_resnet.BasicBlock):
    __doc__ = AconBasicBlockMixin.__doc__


class AconBottleneck(AconBottleneckMixin, mmseg_resnet.Bottleneck):
    __doc__ = AconBottleneckMixin.__doc__


@MODELS.register_module()
class AconResNet(AconResNetMixin, mmseg_resnet.ResNet):
    """ResNet backbone with ACON / Meta-ACON activations (root registry).

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

    upstream = mmseg_resnet.ResNet
    arch_settings = {
        18: (AconBasicBlock, (2, 2, 2, 2)),
        34: (AconBasicBlock, (3, 4, 6, 3)),
        50: (AconBottleneck, (3, 4, 6, 3)),
        101: (AconBottleneck, (3, 4, 23, 3)),
        152: (AconBottleneck, (3, 8, 36, 3)),
    }

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: int | None = None,
                 base_channels: int = 64,
                 num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 style: str = 'pytorch',
                 deep_stem: bool = False,
                 avg_down: bool = False,
                 frozen_stages: int = -1,
                 conv_cfg: dict | None = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 dcn: dict | None = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: list | None = None,
                 multi_grid: Sequence[int] | None = None,
                 contract_dilation: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 act_cfg: dict | None = dict(type='MetaAconC'),
                 act_placement: str = 'paper',
                 conv_bias: bool = False,
                 pretrained: str | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(
            depth,
            in_channels=in_channels,
            stem_channels=base_channels if stem_channels is None else stem_channels,
            base_channels=base_channels, num_stages=num_stages, strides=strides,
            dilations=dilations, out_indices=out_indices, style=style, deep_stem=deep_stem,
            avg_down=avg_down, frozen_stages=frozen_stages, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, norm_eval=norm_eval, dcn=dcn, stage_with_dcn=stage_with_dcn,
            plugins=plugins, multi_grid=multi_grid, contract_dilation=contract_dilation,
            with_cp=with_cp, zero_init_residual=zero_init_residual, act_cfg=act_cfg,
            act_placement=act_placement, conv_bias=conv_bias, pretrained=pretrained,
            init_cfg=init_cfg)


@MODELS.register_module()
class AconResNetV1c(AconResNet):
    """AconResNet with the deep stem (three 3x3 convs), as ``ResNetV1c``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class AconResNetV1d(AconResNet):
    """AconResNet with the deep stem and avg-pool downsampling, as ``ResNetV1d``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
