"""ResNet with ACON activations (ResNet-ACON / ResNet-Meta-ACON, Ma et al., CVPR 2021).

A thin layer over mmseg's ``ResNet`` (a superset of mmdet's arguments: ``contract_dilation``
and ``multi_grid`` on top), so ``type='ResNet'`` -> ``type='AconResNet'`` works in any mmdet
or mmseg config. Only the blocks change: the chosen activations become ACON modules.

State-dict layout (torchvision / mmdet names, as the official checkpoints)::

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
from mmseg.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmseg.models.utils import ResLayer
from torch import Tensor, nn

from ._utils import (add_conv_biases, build_act, check_act_cfg, check_choice,
                     check_out_indices, freeze, maybe_checkpoint)

ACT_PLACEMENTS = ('paper', 'all')


class AconBasicBlock(BasicBlock):
    """ResNet BasicBlock with ``acon1`` (after conv1/bn1) and ``acon2`` (after the add).

    Both activations are replaced under either placement (``'paper'`` or ``'all'``), as in
    the official BasicBlock. With ``act_cfg=None`` it is mmseg's/mmdet's BasicBlock.

    Args:
        act_cfg: ACON config without ``channels`` (filled here), or None for ReLU.
        act_placement: ``'paper'`` or ``'all'`` (the same for this block).
        **kwargs: everything mmseg's ``BasicBlock`` takes (inplanes, planes, stride, ...).
    Shape: (N, inplanes, H, W) -> (N, planes, H / stride, W / stride).
    """

    def __init__(self, *args, act_cfg: dict | None = None, act_placement: str = 'paper',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        planes = self.conv2.out_channels
        self.act_placement = act_placement
        if act_cfg is not None:
            self.acon1 = build_act(act_cfg, planes)
            self.acon2 = build_act(act_cfg, planes)
            del self.relu
        self.act_names = ('acon1', 'acon2') if act_cfg is not None else ('relu', 'relu')

    def forward(self, x: Tensor) -> Tensor:
        act1, act2 = (getattr(self, name) for name in self.act_names)

        def _inner_forward(x: Tensor) -> Tensor:
            out = act1(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return act2(out + identity)

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


class AconBottleneck(Bottleneck):
    """ResNet Bottleneck whose activations are (partly) ACON.

    ``act_placement='paper'`` (the official ResNet-ACON): only the activation after
    conv2/bn2 becomes ACON, at the inner width ``planes``, named ``acon``; the other two
    stay ReLU. ``'all'``: all three, named ``acon1`` (after bn1, ``planes``), ``acon2``
    (after bn2, ``planes``) and ``acon3`` (after the add, ``planes * 4``).
    With ``act_cfg=None`` it is mmseg's/mmdet's Bottleneck.

    Shape: (N, inplanes, H, W) -> (N, planes * 4, H / stride, W / stride).
    """

    def __init__(self, *args, act_cfg: dict | None = None, act_placement: str = 'paper',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        planes, out = self.planes, self.planes * self.expansion
        self.act_placement = act_placement
        if act_cfg is None:
            self.act_names = ('relu', 'relu', 'relu')
        elif act_placement == 'paper':
            self.acon = build_act(act_cfg, planes)
            self.act_names = ('relu', 'acon', 'relu')
        else:
            self.acon1 = build_act(act_cfg, planes)
            self.acon2 = build_act(act_cfg, planes)
            self.acon3 = build_act(act_cfg, out)
            del self.relu
            self.act_names = ('acon1', 'acon2', 'acon3')

    def forward(self, x: Tensor) -> Tensor:
        act1, act2, act3 = (getattr(self, name) for name in self.act_names)

        def _inner_forward(x: Tensor) -> Tensor:
            out = act1(self.norm1(self.conv1(x)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = act2(self.norm2(self.conv2(out)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv2_plugin_names)
            out = self.norm3(self.conv3(out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv3_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            return act3(out + identity)

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


@MODELS.register_module()
class AconResNet(ResNet):
    """ResNet backbone with ACON / Meta-ACON activations.

    Takes every argument of mmdet's ``ResNet`` and mmseg's ``ResNet`` with the same meaning
    and defaults (``stem_channels=None`` means ``base_channels`` as in mmdet), plus:

    Args:
        depth: 18, 34, 50, 101 or 152.
        act_cfg: the ACON module replacing ReLU, without ``channels`` (the backbone fills
            it), e.g. ``dict(type='MetaAconC')`` (default), ``dict(type='AconC')``,
            ``dict(type='MetaAconC', reduction=8)``. ``None`` or ``dict(type='ReLU')``:
            plain ReLU everywhere, numerically mmdet's ResNet.
        act_placement: which activations are replaced.
            ``'paper'`` (default, the official models): one ACON per Bottleneck after
            conv2/bn2 (``layerX.Y.acon``); both activations of a BasicBlock (``acon1``,
            ``acon2``); stem ReLU kept.
            ``'all'``: every activation, stem included (``acon1`` at top level for the 7x7
            stem, ``stem.2/5/8`` for the deep stem; ``acon1..3`` in a Bottleneck).
        conv_bias: put a (zero-initialised) bias on every convolution, as the official
            checkpoints have. Use with ``style='caffe'`` (stride on conv1) to load them.
        in_channels, stem_channels, base_channels, num_stages, strides, dilations,
        out_indices, style, deep_stem, avg_down, frozen_stages, conv_cfg, norm_cfg,
        norm_eval, dcn, stage_with_dcn, plugins, multi_grid, contract_dilation, with_cp,
        zero_init_residual, pretrained, init_cfg: as mmdet/mmseg ``ResNet``.
        Defaults follow mmseg; note mmdet's ``ResNet`` defaults to ``norm_eval=True``
        (its configs set it explicitly). ``with_cp`` uses non-reentrant
        ``torch.utils.checkpoint``. ``norm_eval`` and
        ``frozen_stages`` also cover the BNs inside Meta-ACON generators.

    Shape: (N, 3, H, W) -> tuple of (N, base_channels * 2**i * expansion, H / s_i, W / s_i)
    for i in ``out_indices``, s_i = 4 * prod(strides[:i + 1]).

    Example:
        >>> model = AconResNet(depth=50, out_indices=(3, ))
        >>> [tuple(o.shape) for o in model.eval()(torch.rand(1, 3, 224, 224))]
        [(1, 2048, 7, 7)]
    """

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
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise KeyError(f'{name}: invalid depth {depth!r}, '
                           f'valid depths are {tuple(self.arch_settings)}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'{name}: num_stages must be 1..4, got {num_stages!r}')
        if not len(strides) == len(dilations) == num_stages:
            raise ValueError(f'{name}: strides {tuple(strides)} and dilations '
                             f'{tuple(dilations)} need one entry per stage '
                             f'(num_stages={num_stages})')
        out_indices = check_out_indices(name, out_indices, num_stages)
        check_choice(name, 'style', style, ('pytorch', 'caffe'))
        check_choice(name, 'act_placement', act_placement, ACT_PLACEMENTS)
        # Read by make_res_layer/_make_stem_layer, which mmseg's __init__ calls.
        self.act_cfg = check_act_cfg(name, act_cfg)
        self.act_placement = act_placement
        self.conv_bias = conv_bias
        self._zero_init_blocks = zero_init_residual and init_cfg is None and pretrained is None
        super().__init__(
            depth=depth,
            in_channels=in_channels,
            stem_channels=base_channels if stem_channels is None else stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            style=style,
            deep_stem=deep_stem,
            avg_down=avg_down,
            frozen_stages=frozen_stages,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            dcn=dcn,
            stage_with_dcn=stage_with_dcn,
            plugins=plugins,
            multi_grid=multi_grid,
            contract_dilation=contract_dilation,
            with_cp=with_cp,
            zero_init_residual=zero_init_residual,
            pretrained=pretrained,
            init_cfg=init_cfg)
        if conv_bias:
            add_conv_biases(self)

    def make_res_layer(self, **kwargs) -> ResLayer:
        """A stage of ACON blocks; zero-init of the last norm as mmdet's ResNet."""
        if self._zero_init_blocks:
            last_norm = 'norm3' if self.block is AconBottleneck else 'norm2'
            kwargs['init_cfg'] = dict(type='Constant', val=0, override=dict(name=last_norm))
        return ResLayer(act_cfg=self.act_cfg, act_placement=self.act_placement, **kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        super()._make_stem_layer(in_channels, stem_channels)
        if self.act_cfg is None or self.act_placement != 'all':
            return
        if self.deep_stem:
            for index, channels in ((2, stem_channels // 2), (5, stem_channels // 2),
                                    (8, stem_channels)):
                self.stem[index] = build_act(self.act_cfg, channels)
        else:
            self.acon1 = build_act(self.act_cfg, stem_channels)
            del self.relu

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self.frozen_stages >= 0 and hasattr(self, 'acon1'):
            freeze(self.acon1)

    def train(self, mode: bool = True) -> 'AconResNet':
        """As mmseg's ``train`` (frozen stages, ``norm_eval``), but returns ``self``."""
        super().train(mode)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        if self.deep_stem:
            x = self.stem(x)
        else:
            act = self.acon1 if hasattr(self, 'acon1') else self.relu
            x = act(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class AconResNetV1c(AconResNet):
    """AconResNet with the deep stem (three 3x3 convs), as mmseg's ``ResNetV1c``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class AconResNetV1d(AconResNet):
    """AconResNet with the deep stem and avg-pool downsampling, as ``ResNetV1d``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
