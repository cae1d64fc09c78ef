"""ACON-FReLU: the smooth maximum of x and FReLU's spatial condition T(x).

Ma et al., CVPR 2021, Sec. 4.3 (TFNet); T(x) from Ma et al., "Funnel Activation", ECCV 2020.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from mmacon.ops.reference import smooth_max

from ._checks import check_channels_arg, check_input, checked_args
from .meta_acon import _build_norm, _norm_of_nothing


@MODELS.register_module()
@checked_args
class AconFReLU(nn.Module):
    """ACON-FReLU: ``out = BN2(S_beta(x1, T(x)))`` with ``S_beta(a, b) = (a - b) * sigmoid(beta * (a - b)) + b``.

    ``T(x) = BN1(depthwise 3x3 conv(x, stride))`` (``conv_frelu``, ``bn1``); ``x1 = x`` at
    stride 1 and a 3x3/2 max-pool of x at stride 2. With the defaults this is exactly the
    official TFNet module (beta fixed at 1, output BN ``bn2``), so TFNet checkpoints load.

    Args:
        channels: number of input channels C.
        stride: 1 or 2.
        learnable_beta: learn a per-channel ``beta`` (1, C, 1, 1) instead of beta = 1.
        out_norm: keep the official output normalisation ``bn2``.
        norm_cfg: normalisation for ``bn1`` and ``bn2``; GN's ``num_groups`` adapts to C
            as in :class:`MetaAconC` (:func:`~.meta_acon.fit_num_groups`).
        inplace: accepted for mmcv's ``ConvModule`` and ignored.
    Shape: (N, C, H, W) -> (N, C, H / stride, W / stride). N, H or W may be 0: the output
    is empty, the parameters get zero gradients and no BN statistic moves.
    """

    def __init__(self,
                 channels: int,
                 stride: int = 1,
                 learnable_beta: bool = False,
                 out_norm: bool = True,
                 norm_cfg: dict | None = dict(type='BN'),
                 inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels_arg(name, channels)
        if stride not in (1, 2):
            raise ValueError(f'{name}: stride must be 1 or 2, got {stride!r}')
        self.stride = stride
        self.conv_frelu = nn.Conv2d(channels, channels, kernel_size=3, stride=stride,
                                    padding=1, groups=channels, bias=True)
        self.bn1 = _build_norm(norm_cfg, channels, name)
        self.bn2 = _build_norm(norm_cfg, channels, name) if out_norm else nn.Identity()
        if learnable_beta:
            self.beta = nn.Parameter(torch.ones(1, channels, 1, 1))
        else:
            self.beta = None

    def spatial_condition(self, x: Tensor) -> Tensor:
        """T(x) = BN1(depthwise 3x3 conv(x)), (N, C, H / stride, W / stride)."""
        return self.bn1(self.conv_frelu(x))

    def forward(self, x: Tensor) -> Tensor:
        check_input(self, x, self.channels, ndim=4)
        if x.numel() == 0:
            return self._of_nothing(x)
        identity = x if self.stride == 1 else F.max_pool2d(x, 3, stride=2, padding=1)
        beta = 1.0 if self.beta is None else self.beta
        return self.bn2(smooth_max(identity, self.spatial_condition(x), beta))

    def _of_nothing(self, x: Tensor) -> Tensor:
        """The output for an ``x`` without elements (N, H or W = 0): empty, (N, C, H', W').

        A 3x3 conv and max-pool cannot run on an empty map, so the module runs on a
        (0, C, 1, 1) stand-in taken from ``x``: ``x`` and every parameter get their
        (empty or zero) gradients, as through the formula, and no BN statistic moves
        (``num_batches_tracked`` included).
        """
        n, c, h, w = x.shape
        rows = x.sum((2, 3), keepdim=True)[:0]
        identity = rows if self.stride == 1 else F.max_pool2d(rows, 3, stride=2, padding=1)
        beta = 1.0 if self.beta is None else self.beta
        t = _norm_of_nothing(self.bn1, self.conv_frelu(rows))
        y = _norm_of_nothing(self.bn2, smooth_max(identity, t, beta))
        size = ((h - 1) // self.stride + 1, (w - 1) // self.stride + 1)  # conv's and pool's
        return y.sum(0, keepdim=True).expand(n, c, *size)

    def extra_repr(self) -> str:
        return f'{self.channels}, stride={self.stride}, learnable_beta={self.beta is not None}'
