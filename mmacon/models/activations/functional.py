"""Functional core of the ACON family: the math lives here, once.

All functions broadcast: ``x`` is (N, C, *) and the coefficients are any shape
that broadcasts against it, e.g. (1, C, 1, 1) per channel, (N, C, 1, 1) per
sample and channel (Meta-ACON), (N, 1, 1, 1) per sample, (N, 1, H, W) per pixel.
"""
from __future__ import annotations

import torch
from torch import Tensor


def smooth_max(a: Tensor, b: Tensor, beta: Tensor | float = 1.0) -> Tensor:
    """Smooth maximum ``S_beta(a, b) = (a - b) * sigmoid(beta * (a - b)) + b``.

    beta -> inf gives max(a, b), beta = 0 gives (a + b) / 2.
    """
    diff = a - b
    return diff * torch.sigmoid(beta * diff) + b


def acon_c_reference(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """ACON-C written as the paper's formula, through plain autograd.

    ``f(x) = (p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x``

    Kept as the reference the fused implementations are checked against.
    """
    dpx = (p1 - p2) * x
    return dpx * torch.sigmoid(beta * dpx) + p2 * x


@torch.jit.unused
def _acon_c_dispatch(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str) -> Tensor:
    from .fused import acon_c_dispatch  # lazy: fused imports this module
    return acon_c_dispatch(x, p1, p2, beta, impl)


def acon_c(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str = 'auto') -> Tensor:
    """ACON-C: ``(p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x``.

    Args:
        x: input, (N, C, *).
        p1, p2: upper and lower slopes, broadcastable to ``x`` (usually (1, C, 1, 1)).
        beta: switching factor, broadcastable to ``x``; per channel for ACON-C,
            per sample for Meta-ACON ((N, C, 1, 1), (N, 1, 1, 1) or (N, 1, H, W)).
        impl: ``'auto'`` (the global default, else the fastest available),
            ``'reference'``, ``'eager'``, ``'cpp'`` or ``'compiled'``; see
            :mod:`mmacon.models.activations.fused`. All give the same numbers; the
            non-reference ones save only ``x`` and the coefficients for backward.
    Returns:
        Tensor shaped like ``x``.
    """
    if torch.jit.is_scripting():
        return acon_c_reference(x, p1, p2, beta)
    return _acon_c_dispatch(x, p1, p2, beta, impl)
