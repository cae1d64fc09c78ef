"""ShuffleNetV2 with Meta-ACON (Ma et al., CVPR 2021, Table 2), official module names.

Every ReLU of ShuffleNetV2 is an ACON module (Meta-ACON, r = 8 at 0.5x, 16 otherwise);
convolutions carry a bias. State-dict layout (as the official checkpoints)::

    first_conv.0 (conv 3x3/2), first_conv.1 (BN), first_conv.2 (act)
    features.N.branch_main.0..7   pw conv, BN, act, dw conv, BN, pw conv, BN, act
    features.N.branch_proj.0..4   dw conv, BN, pw conv, BN, act        (stride-2 blocks)
    conv_last.0 (1x1 conv), conv_last.1 (BN), conv_last.2 (act)
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ._act_factory import ActFactory, check_act_cfg
from ._arg_checks import check_choice
from .base import StagedBackbone, maybe_checkpoint, split_stages

# widen factor -> channels of (stem, stage 1, stage 2, stage 3, conv_last), official.
ARCH_CHANNELS = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
STAGE_REPEATS = (4, 8, 4)


class ShuffleV2Block(BaseModule):
    """ShuffleNetV2 unit with the official channel split and concatenation order.

    Stride 1: the input's even channels pass through (``x_proj``), the odd ones go through
    ``branch_main``; output ``cat(x_proj, branch_main(x_odd))``. Stride 2: output
    ``cat(branch_proj(x), branch_main(x))``. The concatenation order plus the even/odd
    split are the channel shuffle of the official code.

    Args:
        in_channels: channels of the block input.
        out_channels: channels of the block output.
        stride: 1 or 2.
        act: the backbone's activation factory (``act(channels)``); default ReLU.
        conv_bias: biases on the convolutions (official ACON models: True).
        norm_cfg: normalisation config.
        with_cp: non-reentrant activation checkpointing.
    Shape: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 act: ActFactory | None = None,
                 conv_bias: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'ShuffleV2Block: stride must be 1 or 2, got {stride!r}')
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f'ShuffleV2Block: stride 1 needs in_channels == out_channels, '
                             f'got {in_channels} and {out_channels}')
        self.stride = stride
        self.with_cp = with_cp
        inp = in_channels // 2 if stride == 1 else in_channels  # input of branch_main
        mid = out_channels // 2
        main_out = out_channels - inp
        if act is None:
            act = ActFactory('ShuffleV2Block', None)

        def norm(channels: int) -> nn.Module:
            return build_norm_layer(norm_cfg, channels)[1]

        self.branch_main = nn.Sequential(
            nn.Conv2d(inp, mid, 1, bias=conv_bias), norm(mid), act(mid),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=conv_bias), norm(mid),
            nn.Conv2d(mid, main_out, 1, bias=conv_bias), norm(main_out), act(main_out))
        if stride == 2:
            self.branch_proj = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=conv_bias), norm(inp),
                nn.Conv2d(inp, inp, 1, bias=conv_bias), norm(inp), act(inp))
        else:
            self.branch_proj = None

    def _inner_forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            return torch.cat((x[:, 0::2], self.branch_main(x[:, 1::2])), dim=1)
        return torch.cat((self.branch_proj(x), self.branch_main(x)), dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return maybe_checkpoint(self._inner_forward, x, self.with_cp)


@MODELS.register_module()
class AconShuffleNetV2(StagedBackbone):
    """ShuffleNetV2 backbone with (Meta-)ACON in place of every ReLU.

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0 (official stage channels, see ``ARCH_CHANNELS``).
        out_indices: outputs to return: 0, 1, 2 = stages 2-4 (strides 8, 16, 32), 3 =
            ``conv_last`` (1x1 conv to 1024 / 2048 channels, stride 32).
        frozen_stages: -1 none, 0 the stem (``first_conv``), k the stem and the first k
            outputs' layers (4 includes ``conv_last``).
        act_cfg: activation replacing ReLU, ``channels`` filled by the backbone. Default
            ``dict(type='MetaAconC')`` whose ``reduction`` defaults to 8 at 0.5x and 16
            otherwise (official). ``None`` or ``dict(type='ReLU')``: plain ReLU.
        conv_bias: biases on all convolutions (official ACON models have them).
        norm_cfg: normalisation config, also of the Meta-ACON generators unless
            ``act_cfg`` sets its own ``norm_cfg``.
        norm_eval: keep every BN (generators' included) in eval mode while training.
        with_cp: non-reentrant activation checkpointing per block.
        init_cfg: default Kaiming for convs and 1 for norms; e.g.
            ``dict(type='Pretrained', checkpoint=...)``.

    Shape: (N, 3, H, W) -> tuple of (N, C_i, H / s_i, W / s_i), C from ``ARCH_CHANNELS``,
    s = (8, 16, 32, 32).
    """

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 act_cfg: dict | None = dict(type='MetaAconC'),
                 conv_bias: bool = True,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_choice(name, 'widen_factor', widen_factor, tuple(ARCH_CHANNELS))
        self.widen_factor = widen_factor
        self.act_cfg = check_act_cfg(name, act_cfg)
        act = ActFactory(name, self.act_cfg, norm_cfg=norm_cfg,
                         defaults=dict(reduction=8 if widen_factor == 0.5 else 16))
        stem, *stage_channels, last = ARCH_CHANNELS[widen_factor]
        self.channels = (*stage_channels, last)

        self.first_conv = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=conv_bias),
            build_norm_layer(norm_cfg, stem)[1], act(stem))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        blocks = []
        in_channels = stem
        for repeats, channels in zip(STAGE_REPEATS, stage_channels):
            for i in range(repeats):
                blocks.append(ShuffleV2Block(
                    in_channels, channels, stride=2 if i == 0 else 1, act=act,
                    conv_bias=conv_bias, norm_cfg=norm_cfg, with_cp=with_cp))
                in_channels = channels
        self.features = nn.Sequential(*blocks)
        self.conv_last = nn.Sequential(
            nn.Conv2d(in_channels, last, 1, bias=conv_bias),
            build_norm_layer(norm_cfg, last)[1], act(last))
        self._setup(out_indices, frozen_stages, norm_eval)

    def stem(self) -> list[nn.Module]:
        return [self.first_conv, self.maxpool]

    def stages(self) -> list[list[nn.Module]]:
        return split_stages(self.features, STAGE_REPEATS) + [[self.conv_last]]
