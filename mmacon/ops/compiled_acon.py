"""The ``torch.compile`` backend (``impl='compiled'``): the eager backend's two halves compiled.

Inductor turns each half into one fused kernel: vectorised C++ on CPU, Triton on
CUDA. Compiled with ``dynamic=True``; note that torch specialises size-1 dims, so
per-channel (1, C, 1, 1), per-sample (N, C, 1, 1) and a batch of one each compile
once. If compiling fails, it warns once and runs the eager halves from then on.
"""
from __future__ import annotations

import warnings
from typing import Callable, Optional

import torch
from torch import Tensor

from . import eager_acon

_compiled: dict = {}
_failed: Optional[str] = None


def available() -> Optional[str]:
    return None if _failed is None else f'torch.compile failed earlier ({_failed})'


def supports(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    if x.device.type == 'cuda':
        from torch.utils._triton import has_triton
        if not has_triton():
            return "torch.compile on CUDA needs Triton, which is not importable"
    return None


def _call(name: str, fn: Callable, *args):
    global _failed
    if _failed is None:
        try:
            if name not in _compiled:
                _compiled[name] = torch.compile(fn, dynamic=True)
            return _compiled[name](*args)
        except Exception as e:  # noqa: BLE001 - compiler missing or broken: fall back
            _failed = f'{type(e).__name__}: {e}'
            warnings.warn(f'mmacon: torch.compile of ACON-C failed ({_failed}); '
                          "running impl='eager' instead.")
    return fn(*args)


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    return _call('fwd', eager_acon.forward, x, p1, p2, beta)


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool = True, need_p: bool = True, need_beta: bool = True):
    return _call('bwd', eager_acon.backward, grad, x, p1, p2, beta, need_x, need_p, need_beta)
