"""Freezing: stop a module's gradients, keep its norms' statistics fixed."""
from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def freeze(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop its gradients."""
    module.eval()
    for param in module.parameters():
        param.requires_grad = False


def norms_to_eval(module: nn.Module) -> None:
    """Eval mode for every BN under ``module`` (ACON generators' BNs included)."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
