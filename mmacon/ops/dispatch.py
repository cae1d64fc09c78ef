"""The one place that decides which ACON-C implementation runs, and :func:`acon_c`.

``impl`` values:

- ``'reference'``: the plain formula through autograd (:func:`acon_c_reference`).
- ``'eager'``: the lean Function in PyTorch ops (:mod:`.eager_acon`); runs everywhere.
- ``'cpp'``: the lean Function on the fused one-pass CPU kernel (:mod:`.cpu_acon`).
- ``'compiled'``: the lean Function with both halves compiled by ``torch.compile``
  (:mod:`.compiled_acon`).
- ``'triton'``: the lean Function on the Triton kernels (:mod:`.triton_acon`): CUDA, or CPU
  tensors under ``TRITON_INTERPRET=1``. Raises naming what is missing (CUDA, Triton)
  when it cannot run at all.
- ``'auto'``: the default set by :func:`set_default_impl` / :func:`default_impl` if any,
  else ``'cpp'`` on CPU, ``'triton'`` on CUDA (``'eager'``, with one warning, where
  Triton is missing), ``'eager'`` elsewhere.

A backend that cannot take a call (e.g. ``'cpp'`` with a bfloat16 input) hands it to
``'eager'``; :func:`explain_impl` says why. Under tracing and ONNX export every impl is
the plain formula; under ``torch.compile`` / ``torch.export`` every impl but
``'reference'`` is the custom op ``mmacon::acon_c`` (:mod:`.custom_op`), whose kernel is
chosen at run time as above.

Output dtype (all impls alike): the output has x's dtype and the gradients have each
input's dtype; low-precision inputs are computed in float32. E.g. a bfloat16 x under
autocast with float32 coefficients gives a bfloat16 output and float32 coefficient
gradients (the plain formula's type promotion would give float32; we cast back, as
PyTorch's own activations keep their input's dtype).
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

from mmacon.models.activations.functional import acon_c_reference

from .backends import BACKENDS
from .function import AconCFunction

IMPLS = ('auto', 'reference', 'eager', 'cpp', 'compiled', 'triton')
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

_state = threading.local()
_global_default = 'auto'
_warned_cuda = False


def check_impl(impl: str) -> str:
    """``impl`` if it is one of :data:`IMPLS`, else a ValueError listing them."""
    if impl not in IMPLS:
        raise ValueError(f'unknown ACON-C impl {impl!r}, valid: {IMPLS}')
    return impl


def set_default_impl(impl: str) -> None:
    """Set the process-wide implementation used where ``impl='auto'``."""
    global _global_default
    _global_default = check_impl(impl)


def get_default_impl() -> str:
    """What ``'auto'`` defers to: a :func:`default_impl` override, then the global default."""
    return getattr(_state, 'override', None) or _global_default


@contextlib.contextmanager
def default_impl(impl: str) -> Iterator[None]:
    """Context manager: ``impl`` is the default for ``'auto'`` in this thread, then restored."""
    check_impl(impl)
    previous = getattr(_state, 'override', None)
    _state.override = impl
    try:
        yield
    finally:
        _state.override = previous


def _auto(x: Tensor) -> str:
    global _warned_cuda
    device = x.device.type
    if device == 'cpu':
        return 'cpp'
    if device == 'cuda':
        why = BACKENDS['triton'].available()
        if why is None:
            return 'triton'
        if not _warned_cuda:
            _warned_cuda = True
            warnings.warn(f"mmacon: impl='auto' on CUDA runs ACON-C in PyTorch ops ('eager'): "
                          f'the Triton kernels are unavailable ({why}).')
    return 'eager'


def _resolve(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor
             ) -> Tuple[str, Optional[str]]:
    """(the impl that runs, why it is not the one asked for or None)."""
    if impl == 'auto':
        impl = get_default_impl()
    elif impl not in IMPLS:
        check_impl(impl)
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return 'reference', 'tracing and ONNX export use the plain formula'
    if x.dtype not in _FLOATS:
        return 'reference', f'x is {x.dtype}, not a floating-point tensor'
    if impl == 'reference':
        return impl, None
    if impl == 'auto':
        impl = _auto(x)
    backend = BACKENDS[impl]
    why = backend.available()
    if why is None:
        why = backend.supports(x, p1, p2, beta)
        if why is None:
            return impl, None
    elif impl == 'triton':
        raise RuntimeError(f"ACON-C impl='triton' cannot run: {why}. Use impl='auto' "
                           "(falls back to PyTorch ops) or another impl.")
    return 'eager', f'{impl}: {why}'


def resolve_impl(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> str:
    """The implementation that runs this call in eager mode (never ``'auto'``)."""
    return _resolve(impl, x, p1, p2, beta)[0]


def explain_impl(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    """Why ``impl`` does not run this call as asked (None when it does)."""
    return _resolve(impl, x, p1, p2, beta)[1]


def reference(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """The plain formula in x's dtype (the output-dtype policy above)."""
    y = acon_c_reference(x, p1, p2, beta)
    return y if y.dtype == x.dtype else y.to(x.dtype)


@torch.jit.unused
def _dispatch(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str) -> Tensor:
    if torch.compiler.is_compiling():
        if impl == 'reference' or torch.onnx.is_in_onnx_export():
            return reference(x, p1, p2, beta)
        return torch.ops.mmacon.acon_c(x, p1, p2, beta, impl)
    name, _ = _resolve(impl, x, p1, p2, beta)
    if name == 'reference':
        return reference(x, p1, p2, beta)
    return AconCFunction.apply(x, p1, p2, beta, name)


def acon_c(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str = 'auto') -> Tensor:
    """ACON-C: ``(p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x``.

    Args:
        x: input, (N, C, *).
        p1, p2: upper and lower slopes, broadcastable to ``x`` (usually (1, C, 1, 1)).
        beta: switching factor, broadcastable to ``x``: per channel (1, C, 1, 1) for
            ACON-C, per sample for Meta-ACON ((N, C, 1, 1), (N, 1, 1, 1), (N, 1, H, W)).
        impl: see the module docstring. All give the same numbers; all but
            ``'reference'`` save only ``x`` and the coefficients for backward.
    Returns:
        Tensor shaped like ``x``, in x's dtype.
    """
    if torch.jit.is_scripting():
        y = acon_c_reference(x, p1, p2, beta)
        return y.to(x.dtype)
    return _dispatch(x, p1, p2, beta, impl)
