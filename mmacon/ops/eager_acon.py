"""The PyTorch-ops backend (``impl='eager'``): the lean Function's two halves in ATen ops.

Runs anywhere PyTorch does (the fallback of every other backend). Notation, all
tensors broadcast against ``x`` of shape (N, C, *):

    d = p1 - p2,  u = d * x,  t = beta * u,  s = sigmoid(t)
    y = u * s + p2 * x = x * (d * s + p2)          (acon_c_reference, reference.py)

Backward, with ``g = d(u * s)/du = s + t * s * (1 - s)``:

    dL/dx    = grad * (d * g + p2)
    dL/dp1   = sum(grad * x * g)                   reduced to p1's shape
    dL/dp2   = sum(grad * x) - dL/dp1              reduced to p2's shape
    dL/dbeta = sum(grad * u^2 * s * (1 - s))       reduced to beta's shape

Low-precision inputs (float16/bfloat16) are computed in float32; the output and
grad_x take x's dtype, each coefficient's gradient its own dtype.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

_LOW = (torch.float16, torch.bfloat16)


def available() -> Optional[str]:
    return None


def supports(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    return None


def _compute_dtype(*ts: Tensor) -> torch.dtype:
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return torch.float32 if dtype in _LOW else dtype


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """``x * (d * sigmoid(beta * d * x) + p2)`` on one full-size buffer, in x's dtype.

    For use without autograd (the Function's forward): the in-place steps overwrite
    what autograd would save.
    """
    ct = _compute_dtype(x, p1, p2, beta)
    xc = x if x.dtype == ct else x.to(ct)
    d = p1 - p2
    y = xc * (d * beta)
    y = y.sigmoid_().mul_(d).add_(p2).mul_(xc)
    return y if y.dtype == x.dtype else y.to(x.dtype)


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool = True, need_p: bool = True, need_beta: bool = True
             ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """``(grad_x, grad_p1, grad_p2, grad_beta)`` each shaped like its input, None where not needed.

    Updates its own temporaries in place, so that it allocates 4-5 full-size tensors
    rather than ~15; ``torch.compile`` of this function is the ``'compiled'`` backward.
    """
    ct = _compute_dtype(x, p1, p2, beta)
    xc = x if x.dtype == ct else x.to(ct)
    gc = grad if grad.dtype == ct else grad.to(ct)
    d = p1 - p2
    t = xc * (d * beta)                             # beta * u, u = d * x
    s = torch.sigmoid(t)
    ds = torch.addcmul(s, s, s, value=-1)           # sigmoid'(t) = s * (1 - s)
    gx = gp1 = gp2 = gb = None
    if need_beta:                                   # sum(grad * u^2 * ds)
        gb = (gc * xc).mul_(xc).mul_(ds).mul_(d * d).sum_to_size(beta.shape).to(beta.dtype)
    g = ds.mul_(t).add_(s)                          # d(u * s)/du = s + t * ds
    del t, s
    if need_p:
        gox = gc * xc
        gsum = gox.sum_to_size(p2.shape).clone()    # sum(grad * x) = dL/dp1 + dL/dp2
        gd = gox.mul_(g)
        gp1 = gd.sum_to_size(p1.shape).to(p1.dtype)
        gp2 = (gsum - gd.sum_to_size(p2.shape)).to(p2.dtype)
    if need_x:
        gx = g.mul_(d).add_(p2).mul_(gc).to(x.dtype)  # grad * (d * g + p2)
    return gx, gp1, gp2, gb
