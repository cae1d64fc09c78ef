"""Mean over dimensions whose backward broadcasts instead of copying.

``spatial_mean(x, dims)`` equals ``x.mean(dims, keepdim=True)``. Autograd's backward
of ``mean`` materialises ``grad / n`` at the full size of ``x``, a fresh full-size
tensor that the engine then adds to ``x``'s other gradient. The backward of ``sum``
is ``grad.expand_as(x)``, a stride-0 view, which the engine adds in place into the
other gradient; dividing the (small) sum by n afterwards gives the same numbers
(ATen's CPU mean is the sum divided by n). Meta-ACON's generator then costs one
pass over its input in backward instead of three.
"""
from __future__ import annotations

from typing import Tuple

from torch import Tensor


def spatial_mean(x: Tensor, dims: Tuple[int, ...] = (2, 3)) -> Tensor:
    """Mean of ``x`` over ``dims``, kept as size-1 dims: (N, C, H, W) -> (N, C, 1, 1)."""
    count = 1
    for d in dims:
        count *= x.shape[d]
    return x.sum(dims, keepdim=True) / count
