"""ACON-C as the ``torch.library`` custom op ``mmacon::acon_c``, for compilers.

``torch.compile(model, fullgraph=True)`` and ``torch.export`` see one opaque node
(no graph break, no plain formula) whose backward is ``mmacon::acon_c_backward``; what
they save for backward is x and the coefficients only. At run time the op's kernel is
chosen as in eager mode, by :func:`mmacon.ops.dispatch.choose` (``'reference'``, chosen
for non-float inputs, runs the eager kernels here).

    torch.ops.mmacon.acon_c(x, p1, p2, beta, impl) -> y        (y like x)
    torch.ops.mmacon.acon_c_backward(grad, x, p1, p2, beta, impl) -> (gx, gp1, gp2, gbeta)

Eager calls do not go through the op: :class:`AconCFunction` costs less Python per call.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .backends import ACON_C
from .dispatch import choose, reference


def _kernel(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor):
    name = choose('acon_c', impl, x, p1, p2, beta)[0]
    return ACON_C['eager' if name == 'reference' else name]


def _like(t: Tensor, ref: Tensor) -> Tensor:
    """``t`` with ``ref``'s strides (what the fake implementation promises)."""
    if t.stride() == ref.stride() or t.numel() <= 1:
        return t
    return torch.empty_like(ref, dtype=t.dtype).copy_(t)


@torch.library.custom_op('mmacon::acon_c', mutates_args=())
def acon_c_op(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str) -> Tensor:
    """ACON-C forward, in x's dtype and memory format."""
    if x.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        return reference(x, p1, p2, beta).contiguous()
    return _like(_kernel(impl, x, p1, p2, beta).forward(x, p1, p2, beta), x)


@acon_c_op.register_fake
def _(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str) -> Tensor:
    return torch.empty_like(x)


@torch.library.custom_op('mmacon::acon_c_backward', mutates_args=())
def acon_c_backward_op(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
                       impl: str) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """(grad_x, grad_p1, grad_p2, grad_beta), each like its input."""
    gx, g1, g2, gb = _kernel(impl, x, p1, p2, beta).backward(grad, x, p1, p2, beta,
                                                             True, True, True)
    return tuple(_like(g.to(t.dtype), t) for g, t in ((gx, x), (g1, p1), (g2, p2), (gb, beta)))


@acon_c_backward_op.register_fake
def _(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str):
    return (torch.empty_like(x), torch.empty_like(p1), torch.empty_like(p2),
            torch.empty_like(beta))


def _setup_context(ctx, inputs, output) -> None:
    x, p1, p2, beta, impl = inputs
    ctx.save_for_backward(x, p1, p2, beta)
    ctx.impl = impl


def _backward(ctx, grad: Tensor):
    x, p1, p2, beta = ctx.saved_tensors
    gx, g1, g2, gb = acon_c_backward_op(grad, x, p1, p2, beta, ctx.impl)
    need = ctx.needs_input_grad
    return (gx if need[0] else None, g1 if need[1] else None, g2 if need[2] else None,
            gb if need[3] else None, None)


acon_c_op.register_autograd(_backward, setup_context=_setup_context)
