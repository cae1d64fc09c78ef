"""The lean autograd Function: saves ``x`` and the coefficients only, recomputes the gate.

Autograd through the plain formula keeps 3x the input's bytes for backward; this
Function keeps 1x (each storage counted once), whichever backend computes it. An input
with no elements gets the empty output and zero coefficient gradients, no backend call.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .backends import ACON_C


def _cast(g: Optional[Tensor], like: Tensor, need: bool) -> Optional[Tensor]:
    if not need or g is None:
        return None
    return g if g.dtype == like.dtype else g.to(like.dtype)


class AconCFunction(torch.autograd.Function):
    """``AconCFunction.apply(x, p1, p2, beta, backend)``, backend a name in ``ACON_C``
    (not ``'reference'``: that one is plain autograd).

    The output has x's dtype; each gradient its input's dtype. Once differentiable.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,  # type: ignore[override]
                backend: str = 'eager') -> Tensor:
        ctx.backend = ACON_C[backend]
        ctx.save_for_backward(x, p1, p2, beta)
        if x.numel() == 0:
            return torch.empty_like(x)
        return ctx.backend.forward(x, p1, p2, beta)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, p1, p2, beta = ctx.saved_tensors
        nx, n1, n2, nb = ctx.needs_input_grad[:4]
        if x.numel() == 0:
            return (_cast(torch.empty_like(x), x, nx), *(_cast(torch.zeros_like(t), t, n)
                    for t, n in ((p1, n1), (p2, n2), (beta, nb))), None)
        gx, g1, g2, gb = ctx.backend.backward(grad, x, p1, p2, beta, nx, n1 or n2, nb)
        return _cast(gx, x, nx), _cast(g1, p1, n1), _cast(g2, p2, n2), _cast(gb, beta, nb), None
