"""ACON-A, ACON-B and ACON-C: per-channel learnable smooth maxima of two linear functions.

Ma et al., "Activate or Not: Learning Customized Activation", CVPR 2021, Eq. (5)-(7).
"""
from __future__ import annotations

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

from mmacon.ops import acon_c, check_impl

from ._checks import check_channels_arg, check_input, checked_args

_INITS = ('official', 'swish')


def _channel_param(channels: int) -> nn.Parameter:
    return nn.Parameter(torch.empty(1, channels, 1, 1))


def check_init(name: str, init: str) -> str:
    if init not in _INITS:
        raise ValueError(f'{name}: unknown init {init!r}, valid: {_INITS}')
    return init


def init_slopes(p1: Tensor, p2: Tensor, init: str) -> None:
    """Fill p1, p2 in place: N(0, 1) each (``'official'``) or 1 and 0 (``'swish'``)."""
    with torch.no_grad():
        if init == 'official':
            p1.normal_()
            p2.normal_()
        else:
            p1.fill_(1.0)
            p2.zero_()


def _as_broadcast(param: Tensor, x: Tensor) -> Tensor:
    """View a (1, C, 1, 1) parameter so it broadcasts against an (N, C, *) input."""
    if x.dim() == 4:
        return param
    return param.view((1, -1) + (1,) * (x.dim() - 2))


@MODELS.register_module()
@checked_args
class AconC(nn.Module):
    """ACON-C: ``f(x) = (p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x``.

    ``p1``, ``p2`` and ``beta`` are learnable, one per channel, each (1, C, 1, 1),
    named as in the official release so its checkpoints load.

    Args:
        channels: number of input channels C.
        init: ``'official'`` (p1, p2 ~ N(0, 1), beta = 1, as the authors' release)
            or ``'swish'`` (p1 = 1, p2 = 0, beta = 1: starts as Swish/SiLU).
        inplace: accepted for mmcv's ``ConvModule`` and ignored.
        impl: ``'auto'`` (follow :func:`set_default_impl`, else the fastest available),
            ``'reference'``, ``'eager'``, ``'cpp'`` or ``'triton'``; see
            :mod:`mmacon.ops.dispatch`.
    Shape: (N, C, *) -> (N, C, *).
    """

    def __init__(self, channels: int, init: str = 'official', inplace: bool = False,
                 impl: str = 'auto') -> None:
        super().__init__()
        self.channels = check_channels_arg(type(self).__name__, channels)
        self.init = check_init(type(self).__name__, init)
        self.impl = check_impl(impl)
        self.p1 = _channel_param(channels)
        self.p2 = _channel_param(channels)
        self.beta = _channel_param(channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_slopes(self.p1, self.p2, self.init)
        with torch.no_grad():
            self.beta.fill_(1.0)

    def forward(self, x: Tensor) -> Tensor:
        check_input(self, x, self.channels)
        return acon_c(x, _as_broadcast(self.p1, x), _as_broadcast(self.p2, x),
                      _as_broadcast(self.beta, x), self.impl)

    def extra_repr(self) -> str:
        impl = '' if self.impl == 'auto' else f', impl={self.impl!r}'
        return f'{self.channels}, init={self.init!r}{impl}'


@MODELS.register_module()
@checked_args
class AconA(nn.Module):
    """ACON-A (Swish with a learnable per-channel beta): ``f(x) = x * sigmoid(beta * x)``.

    Args:
        channels: number of input channels C.
        inplace: accepted for mmcv's ``ConvModule`` and ignored.
    Shape: (N, C, *) -> (N, C, *).
    """

    def __init__(self, channels: int, inplace: bool = False) -> None:
        super().__init__()
        self.channels = check_channels_arg(type(self).__name__, channels)
        self.beta = nn.Parameter(torch.ones(1, channels, 1, 1))

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.beta.fill_(1.0)

    def forward(self, x: Tensor) -> Tensor:
        check_input(self, x, self.channels)
        beta = _as_broadcast(self.beta, x)
        return x * torch.sigmoid(beta * x)

    def extra_repr(self) -> str:
        return f'{self.channels}'


@MODELS.register_module()
@checked_args
class AconB(nn.Module):
    """ACON-B (a smooth PReLU): ``f(x) = (1 - p2) * x * sigmoid(beta * (1 - p2) * x) + p2 * x``.

    It is ACON-C with p1 fixed at 1; ``p2`` and ``beta`` are learnable per channel.

    Args:
        channels: number of input channels C.
        p2_init: initial lower slope (0.25 as PReLU's default).
        inplace: accepted for mmcv's ``ConvModule`` and ignored.
    Shape: (N, C, *) -> (N, C, *).
    """

    def __init__(self, channels: int, p2_init: float = 0.25, inplace: bool = False) -> None:
        super().__init__()
        self.channels = check_channels_arg(type(self).__name__, channels)
        self.p2_init = float(p2_init)
        self.p2 = nn.Parameter(torch.full((1, channels, 1, 1), self.p2_init))
        self.beta = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.register_buffer('p1', torch.ones(1, 1, 1, 1), persistent=False)

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.p2.fill_(self.p2_init)
            self.beta.fill_(1.0)

    def forward(self, x: Tensor) -> Tensor:
        check_input(self, x, self.channels)
        p1 = self.p1.to(x.dtype).view((1,) * x.dim())
        return acon_c(x, p1, _as_broadcast(self.p2, x), _as_broadcast(self.beta, x))

    def extra_repr(self) -> str:
        return f'{self.channels}'
