"""Conv-bias surgery: the official ACON checkpoints have a bias on every convolution."""
from __future__ import annotations

import torch
from torch import nn


def add_conv_biases(module: nn.Module) -> int:
    """Give every bias-free convolution under ``module`` a zero-initialised bias.

    Adding the parameter after construction keeps whichever conv type ``conv_cfg`` chose;
    ``weight`` and ``bias`` keep their usual order in the state dict. Returns the number
    of convolutions changed.
    """
    count = 0
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvNd) and m.bias is None:
            m.bias = nn.Parameter(torch.zeros(m.out_channels, device=m.weight.device,
                                              dtype=m.weight.dtype))
            count += 1
    return count
