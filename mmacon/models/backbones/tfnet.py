"""TFNet: the ACON-FReLU network of Ma et al., CVPR 2021 (Sec. 4.3), official module names.

State-dict layout::

    first_conv.0 (conv 3x3/2, bias), first_conv.1 (BN), first_conv.2 (ReLU)
    features.N.branch_main.0..4   pw conv (bias), BN, AconFReLU, pw conv (bias), BN
    features.N.acon               AconFReLU(out channels, stride) on x + branch (stride 1)
                                  or cat(x, branch) (stride 2, channels double)
    conv_last.0 (1x1 conv to 1024, bias), conv_last.1 (BN), conv_last.2 (AconFReLU)

The release does not state the branch's inner width; we use the block's input width,
which reproduces the paper's parameter counts within 0.1M (see docs/backbones.md).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from ..activations import AconFReLU
from ._arg_checks import check_choice
from .base import StagedBackbone, maybe_checkpoint, split_stages

STAGE_REPEATS = (2, 3, 8, 3)
WIDEN_FACTORS = (0.5, 1.0, 1.5, 2.0)


class TFBlock(BaseModule):
    """TFNet block: ``acon(x + branch_main(x))`` or, at stride 2, ``acon(cat(x, branch))``.

    Args:
        channels: input channels C; the output has C (stride 1) or 2C (stride 2).
        stride: 1 or 2; at 2 the output ACON-FReLU downsamples (dw conv / max-pool).
        norm_cfg: normalisation config (block and ACON-FReLU BNs).
        with_cp: non-reentrant activation checkpointing.
    Shape: (N, C, H, W) -> (N, C * stride, H / stride, W / stride).
    """

    def __init__(self, channels: int, stride: int, norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'TFBlock: stride must be 1 or 2, got {stride!r}')
        self.stride = stride
        self.with_cp = with_cp
        mid = channels
        self.branch_main = nn.Sequential(
            nn.Conv2d(channels, mid, 1, bias=True), build_norm_layer(norm_cfg, mid)[1],
            AconFReLU(mid, norm_cfg=norm_cfg),
            nn.Conv2d(mid, channels, 1, bias=True), build_norm_layer(norm_cfg, channels)[1])
        self.acon = AconFReLU(channels * stride, stride=stride, norm_cfg=norm_cfg)

    def _inner_forward(self, x: Tensor) -> Tensor:
        branch = self.branch_main(x)
        if self.stride == 1:
            return self.acon(x + branch)
        return self.acon(torch.cat((x, branch), dim=1))

    def forward(self, x: Tensor) -> Tensor:
        return maybe_checkpoint(self._inner_forward, x, self.with_cp)


@MODELS.register_module()
class TFNet(StagedBackbone):
    """TFNet backbone (ACON-FReLU everywhere but the stem).

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0; stem 16w channels, stages 32w, 64w, 128w, 256w.
        out_indices: 0..3 = the four stages (strides 4, 8, 16, 32), 4 = ``conv_last``
            (1024 channels, stride 32).
        frozen_stages: -1 none, 0 the stem, k the stem and the first k outputs' layers.
        norm_cfg: normalisation config of the convolutions and of every ACON-FReLU.
        norm_eval: keep every BN in eval mode while training.
        with_cp: non-reentrant activation checkpointing per block.
        init_cfg: default Kaiming for convs and 1 for norms.

    Shape: (N, 3, H, W) -> tuple of (N, C_i, H / s_i, W / s_i), s = (4, 8, 16, 32, 32).
    """

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_cfg: dict = dict(type='BN'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 last_channels: int = 1024,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        check_choice(type(self).__name__, 'widen_factor', widen_factor, WIDEN_FACTORS)
        self.widen_factor = widen_factor
        channels = int(16 * widen_factor)
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, channels, 3, 2, 1, bias=True),
            build_norm_layer(norm_cfg, channels)[1], nn.ReLU(inplace=True))
        blocks, stage_channels = [], []
        for repeats in STAGE_REPEATS:
            for i in range(repeats):
                stride = 2 if i == 0 else 1
                blocks.append(TFBlock(channels, stride, norm_cfg=norm_cfg, with_cp=with_cp))
                channels *= stride
            stage_channels.append(channels)
        self.features = nn.Sequential(*blocks)
        self.conv_last = nn.Sequential(
            nn.Conv2d(channels, last_channels, 1, bias=True),
            build_norm_layer(norm_cfg, last_channels)[1],
            AconFReLU(last_channels, norm_cfg=norm_cfg))
        self.channels = (*stage_channels, last_channels)
        self._setup(out_indices, frozen_stages, norm_eval)

    def stem(self) -> list[nn.Module]:
        return [self.first_conv]

    def stages(self) -> list[list[nn.Module]]:
        return split_stages(self.features, STAGE_REPEATS) + [[self.conv_last]]
