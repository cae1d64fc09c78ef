"""MobileNetV2 with ACON / Meta-ACON.

The paper reports MobileNetV2 results with ACON but released no code, so the placement is
ours: by default (``act_placement='all'``) every ReLU6 becomes ACON, as the official
ShuffleNetV2 model does for its ReLUs; ``'dw'`` replaces only the activation after each
block's depthwise conv (one per block at the expanded width, the light counterpart of
ResNet-ACON's one ACON per bottleneck after the 3x3 conv).

Module names follow mmdet's ``MobileNetV2`` (``conv1.conv``, ``conv1.bn``,
``layerN.M.{expand_conv,depthwise_conv,linear_conv}.{conv,bn}``, ``conv2``), the activation
under ``.activate``: with ``act_cfg=None`` the state dicts are identical, and ReLU6
ImageNet weights load into an ACON model's convs and norms (``strict=False``).
"""
from __future__ import annotations

from collections.abc import Sequence

from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ._act_factory import ActFactory, check_act_cfg
from ._arg_checks import check_choice
from .base import StagedBackbone, maybe_checkpoint

ACT_PLACEMENTS = ('all', 'dw')


def make_divisible(value: float, divisor: int = 8, min_ratio: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor``, never below ``min_ratio * value``."""
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new_value + divisor if new_value < min_ratio * value else new_value


class ConvNormAct(nn.Module):
    """conv -> norm -> activation, named ``conv``, ``bn``, ``activate`` as mmcv's ConvModule.

    Shape: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1, norm_cfg: dict = dict(type='BN'),
                 act: nn.Module | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              kernel_size // 2, groups=groups, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.activate = act

    def forward(self, x: Tensor) -> Tensor:
        x = self.bn(self.conv(x))
        return x if self.activate is None else self.activate(x)


class AconInvertedResidual(BaseModule):
    """Inverted residual: [1x1 expand] -> 3x3 depthwise -> 1x1 project, + x at stride 1.

    Named as mmdet's ``InvertedResidual``: ``expand_conv`` (absent at expand ratio 1),
    ``depthwise_conv``, ``linear_conv``; ``make_act(channels, position)`` builds the
    activations (position ``'expand'`` or ``'dw'``).
    Shape: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int,
                 make_act, norm_cfg: dict = dict(type='BN'), with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        self.with_expand_conv = hidden != in_channels
        if self.with_expand_conv:
            self.expand_conv = ConvNormAct(in_channels, hidden, 1, norm_cfg=norm_cfg,
                                           act=make_act(hidden, 'expand'))
        self.depthwise_conv = ConvNormAct(hidden, hidden, 3, stride, groups=hidden,
                                          norm_cfg=norm_cfg, act=make_act(hidden, 'dw'))
        self.linear_conv = ConvNormAct(hidden, out_channels, 1, norm_cfg=norm_cfg, act=None)

    def _inner_forward(self, x: Tensor) -> Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.linear_conv(self.depthwise_conv(out))
        return x + out if self.use_res_connect else out

    def forward(self, x: Tensor) -> Tensor:
        return maybe_checkpoint(self._inner_forward, x, self.with_cp)


@MODELS.register_module()
class AconMobileNetV2(StagedBackbone):
    """MobileNetV2 backbone with ACON activations (arguments as mmdet's ``MobileNetV2``).

    Args:
        widen_factor: width multiplier (channels rounded to multiples of 8).
        out_indices: 0..6 = ``layer1..layer7``, 7 = ``conv2`` (1x1 to 1280 channels).
            Default (1, 2, 4, 7) as mmdet: strides 4, 8, 16, 32.
        frozen_stages: -1 none, 0 ``conv1``, k ``conv1`` and ``layer1..layerk``; valid
            -1..7 as mmdet (``conv2`` is never frozen). Departure: a frozen ``conv1``
            keeps its BN in eval mode too (mmdet's only stops its gradients).
        act_cfg: ACON module (``channels`` filled), default ``dict(type='MetaAconC')``;
            ``None`` or ``dict(type='ReLU6')``: plain ReLU6 (mmdet's MobileNetV2).
        act_placement: ``'all'`` (default) or ``'dw'`` (see the module docstring).
        norm_cfg, norm_eval, with_cp, init_cfg: as mmdet's ``MobileNetV2``; ``norm_cfg``
            is also the Meta-ACON generators' unless ``act_cfg`` sets its own.

    Shape: (N, 3, H, W) -> tuple of (N, C_i, H / s_i, W / s_i).
    """

    # expand ratio, channels, repeats, stride of each layer
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1,
                 act_cfg: dict | None = dict(type='MetaAconC'),
                 act_placement: str = 'all',
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        if not widen_factor > 0:
            raise ValueError(f'{name}: widen_factor must be positive, got {widen_factor!r}')
        check_choice(name, 'act_placement', act_placement, ACT_PLACEMENTS)
        self.widen_factor = widen_factor
        self.act_cfg = check_act_cfg(name, act_cfg, plain=('ReLU6', ))
        self.act_placement = act_placement
        plain = ActFactory(name, None, plain=lambda: nn.ReLU6(inplace=True))
        acon = ActFactory(name, self.act_cfg, plain=plain.plain, norm_cfg=norm_cfg)

        def make_act(channels: int, position: str) -> nn.Module:
            replaced = act_placement == 'all' or position == 'dw'
            return (acon if replaced else plain)(channels)

        in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvNormAct(3, in_channels, 3, 2, norm_cfg=norm_cfg,
                                 act=make_act(in_channels, 'stem'))
        self.layers = []
        channels = []
        for i, (expand, c, repeats, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(c * widen_factor, 8)
            blocks = []
            for j in range(repeats):
                blocks.append(AconInvertedResidual(
                    in_channels, out_channels, stride if j == 0 else 1, expand, make_act,
                    norm_cfg=norm_cfg, with_cp=with_cp))
                in_channels = out_channels
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            self.layers.append(f'layer{i + 1}')
            channels.append(out_channels)
        last = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvNormAct(in_channels, last, 1, norm_cfg=norm_cfg,
                                 act=make_act(last, 'last'))
        self.layers.append('conv2')
        self.channels = (*channels, last)
        # mmdet's MobileNetV2 freezes conv1 and layer1..layer7 at most.
        self._setup(out_indices, frozen_stages, norm_eval, max_frozen=len(self.layers) - 1)

    def stem(self) -> list[nn.Module]:
        return [self.conv1]

    def stages(self) -> list[list[nn.Module]]:
        return [[getattr(self, name)] for name in self.layers]
