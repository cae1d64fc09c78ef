"""Activation checkpointing (``with_cp``) of the ACON blocks."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.utils.checkpoint
from torch import Tensor


def maybe_checkpoint(fn: Callable[[Tensor], Tensor], x: Tensor, with_cp: bool) -> Tensor:
    """``fn(x)``, under non-reentrant activation checkpointing when ``with_cp`` and grads on.

    Non-reentrant checkpointing also recomputes blocks whose input needs no gradient
    (a frozen stem), which upstream's reentrant ``x.requires_grad`` test skips.
    """
    if with_cp and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(fn, x, use_reentrant=False)
    return fn(x)
