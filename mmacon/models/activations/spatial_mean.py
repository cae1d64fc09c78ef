"""Mean over dimensions whose backward broadcasts instead of copying.

``spatial_mean(x, dims)`` equals ``x.mean(dims, keepdim=True)``. Autograd's own
backward for the mean materialises ``grad / n`` at the full size of ``x`` (a fresh
full-size tensor), which autograd then adds to ``x``'s other gradient (another).
Here the backward returns ``(grad / n).expand_as(x)``, a stride-0 view, so the
engine adds it in place into the other gradient: Meta-ACON's generator then costs
one pass over its input in backward instead of three.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .fused import _in_graph_capture


class SpatialMeanFunction(torch.autograd.Function):
    """``x.mean(dims, keepdim=True)`` with a broadcast (no-copy) backward."""

    @staticmethod
    def forward(ctx, x: Tensor, dims: Tuple[int, ...]) -> Tensor:  # type: ignore[override]
        ctx.shape = x.shape
        ctx.count = 1
        for d in dims:
            ctx.count *= x.shape[d]
        return x.mean(dims, keepdim=True)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return (grad / ctx.count).expand(ctx.shape), None


def spatial_mean(x: Tensor, dims: Tuple[int, ...] = (2, 3)) -> Tensor:
    """Mean of ``x`` over ``dims``, kept as size-1 dims: (N, C, H, W) -> (N, C, 1, 1).

    Plain ``x.mean`` under scripting, tracing, ONNX export and torch.compile.
    """
    if torch.jit.is_scripting() or _in_graph_capture() or not x.requires_grad:
        return x.mean(dims, keepdim=True)
    return SpatialMeanFunction.apply(x, tuple(dims))
