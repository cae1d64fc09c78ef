"""The ACON family's math, once: the plain formulas every kernel is checked against.

Torch alone (this module is the bottom of the layering: :mod:`mmacon.models` imports it,
never the reverse). The kernels that compute ACON-C fast (and :func:`mmacon.ops.acon_c`,
which picks one) are checked against :func:`acon_c_reference` in float64; their
backward formulas are derived in :mod:`mmacon.ops.eager_acon`.

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

    The reference every kernel in :mod:`mmacon.ops` is checked against
    (``impl='reference'``).
    """
    dpx = (p1 - p2) * x
    return dpx * torch.sigmoid(beta * dpx) + p2 * x
