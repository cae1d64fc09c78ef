"""Lean ACON-C: a custom autograd Function and its kernels, and the ``impl`` dispatcher.

Notation (all tensors broadcast against ``x`` of shape (N, C, *)):

    d = p1 - p2,  u = d * x,  t = beta * u,  s = sigmoid(t)
    y = u * s + p2 * x                                  (acon_c_reference)

Backward (``g = d(u * s)/du = s + t * s * (1 - s)``):

    dL/dx    = grad * (d * g + p2)
    dL/dp1   = sum(grad * x * g)                        reduced to p1's shape
    dL/dp2   = sum(grad * x) - dL/dp1                   reduced to p2's shape
    dL/dbeta = sum(grad * u^2 * s * (1 - s))            reduced to beta's shape

``beta`` may be per channel (1, C, 1, 1) for ACON-C, or per sample for Meta-ACON:
(N, C, 1, 1), (N, 1, 1, 1) or (N, 1, H, W); its gradient is reduced to exactly that
shape, so it flows into the generator.

The Function saves only ``x`` and the small coefficient tensors (the gate is
recomputed in backward): 1x the input's bytes where autograd keeps 3x for the plain
formula (each storage counted once; see docs/benchmarks.md).

Implementations (``impl``):

- ``'reference'``: the plain formula through autograd (:func:`acon_c_reference`).
- ``'eager'``: the Function with PyTorch ops (lean memory, ~15 passes, in-place temporaries).
- ``'cpp'``: the Function with the fused single-pass CPU kernel (:mod:`._cpu_kernel`):
  float32/float64, contiguous or channels_last.
- ``'compiled'``: the Function with forward/backward compiled by ``torch.compile``
  (inductor: vectorised C++ on CPU, Triton on CUDA), dynamic shapes.
- ``'auto'``: the global default if one was set (:func:`set_default_impl`), else
  ``'cpp'`` on CPU where it applies, ``'compiled'`` on CUDA where Triton is
  available, ``'eager'`` otherwise. Under TorchScript scripting, tracing, ONNX
  export and ``torch.compile``/``torch.export`` every impl becomes ``'reference'``.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Callable, Iterator, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import _cpu_kernel
from .functional import acon_c_reference

IMPLS = ('auto', 'reference', 'eager', 'cpp', 'compiled')
_CONCRETE = ('reference', 'eager', 'cpp', 'compiled')
_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

_state = threading.local()
_global_default = 'auto'


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f'unknown ACON-C impl {impl!r}, valid: {IMPLS}')
    return impl


def set_default_impl(impl: str) -> None:
    """Set the process-wide implementation used where ``impl='auto'``."""
    global _global_default
    _global_default = check_impl(impl)


def get_default_impl() -> str:
    """The implementation ``'auto'`` defers to: a :func:`default_impl` override, then the global."""
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


# ------------------------------------------------------------------ eager kernels

def acon_c_backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
                    need_x: bool = True, need_p: bool = True, need_beta: bool = True
                    ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor],
                               Optional[Tensor]]:
    """Gradients of :func:`acon_c_reference` (formulas in the module docstring).

    Returns ``(grad_x, grad_p1, grad_p2, grad_beta)``, each shaped like its input
    (``None`` where not needed). Written with PyTorch ops, updating its own
    temporaries in place so that it allocates 4-5 full-size tensors rather than ~15;
    ``torch.compile`` of this function is the ``'compiled'`` backward.
    """
    d = p1 - p2
    t = x * (d * beta)                              # beta * u, u = d * x
    s = torch.sigmoid(t)
    ds = torch.addcmul(s, s, s, value=-1)           # sigmoid'(t) = s * (1 - s)
    gx = gp1 = gp2 = gb = None
    if need_beta:                                   # sum(grad * u^2 * ds)
        gb = (grad * x).mul_(x).mul_(ds).mul_(d * d).sum_to_size(beta.shape)
    g = ds.mul_(t).add_(s)                          # d(u * s)/du = s + t * ds
    del t, s
    if need_p:
        gox = grad * x
        gsum = gox.sum_to_size(p2.shape).clone()    # sum(grad * x) = dL/dp1 + dL/dp2
        gd = gox.mul_(g)
        gp1 = gd.sum_to_size(p1.shape)
        gp2 = gsum - gd.sum_to_size(p2.shape)
    if need_x:
        gx = g.mul_(d).add_(p2).mul_(grad)          # grad * (d * g + p2)
    return gx, gp1, gp2, gb


def acon_c_eager(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """:func:`acon_c_reference` as ``x * (d * sigmoid(beta * d * x) + p2)`` on one buffer.

    One full-size allocation instead of six; for use without autograd (the Function's
    forward), since the in-place steps overwrite what autograd would save.
    """
    d = p1 - p2
    y = x * (d * beta)
    return y.sigmoid_().mul_(d).add_(p2).mul_(x)


# ------------------------------------------------------------------ compiled kernels

_compiled: dict = {}
_compiled_failed = False


def _get_compiled(name: str, fn: Callable) -> Callable:
    if name not in _compiled:
        _compiled[name] = torch.compile(fn, dynamic=True)
    return _compiled[name]


def _compiled_call(name: str, fn: Callable, *args, **kwargs):
    """Run ``fn`` through torch.compile; on a compile failure warn once and run it eagerly."""
    global _compiled_failed
    if not _compiled_failed:
        try:
            return _get_compiled(name, fn)(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - compiler missing/broken: fall back
            _compiled_failed = True
            warnings.warn(f'mmacon: torch.compile of ACON-C failed ({type(e).__name__}: {e}); '
                          "using impl='eager' instead.")
    return fn(*args, **kwargs)


def compiled_available() -> bool:
    return not _compiled_failed


# ------------------------------------------------------------------ the Function

def _forward(backend: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             plan: Optional[_cpu_kernel.Plan] = None) -> Tensor:
    if backend == 'cpp':
        y = _cpu_kernel.forward(x, p1, p2, beta, plan)
        if y is not None:
            return y
    elif backend == 'compiled':
        return _compiled_call('fwd', acon_c_reference, x, p1, p2, beta)
    return acon_c_eager(x, p1, p2, beta)


def _backward(backend: str, grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
              need_x: bool, need_p: bool, need_beta: bool,
              plan: Optional[_cpu_kernel.Plan] = None):
    if backend == 'cpp':
        out = _cpu_kernel.backward(grad, x, p1, p2, beta, need_x, need_p, need_beta, plan)
        if out is not None:
            return out
    elif backend == 'compiled':
        return _compiled_call('bwd', acon_c_backward, grad, x, p1, p2, beta,
                              need_x, need_p, need_beta)
    return acon_c_backward(grad, x, p1, p2, beta, need_x, need_p, need_beta)


class AconCFunction(torch.autograd.Function):
    """ACON-C that saves only ``x``, p1, p2, beta and recomputes the gate in backward.

    ``forward(x, p1, p2, beta, backend)`` with ``backend`` in ``'eager'``, ``'cpp'``,
    ``'compiled'``. The output dtype follows type promotion of the inputs, as the plain
    formula (e.g. a bfloat16 ``x`` under autocast with float32 coefficients gives
    float32). Gradients are cast back to each input's dtype. Once differentiable.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,  # type: ignore[override]
                backend: str = 'eager') -> Tensor:
        ctx.backend = backend
        ctx.save_for_backward(x, p1, p2, beta)
        # the kernel's compact coefficients and geometry, reused by backward
        ctx.plan = _cpu_kernel.make_plan(x, p1, p2, beta) if backend == 'cpp' else None
        return _forward(backend, x, p1, p2, beta, ctx.plan)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, p1, p2, beta = ctx.saved_tensors
        nx, np1, np2, nb = ctx.needs_input_grad[:4]
        gx, g1, g2, gb = _backward(ctx.backend, grad, x, p1, p2, beta, nx, np1 or np2, nb,
                                   ctx.plan)
        ctx.plan = None

        def cast(g: Optional[Tensor], like: Tensor, need: bool) -> Optional[Tensor]:
            if not need or g is None:
                return None
            return g if g.dtype == like.dtype else g.to(like.dtype)

        return cast(gx, x, nx), cast(g1, p1, np1), cast(g2, p2, np2), cast(gb, beta, nb), None


# ------------------------------------------------------------------ dispatch

def _in_graph_capture() -> bool:
    """True under tracing, ONNX export, torch.compile / torch.export (use the plain formula)."""
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return True
    compiler = getattr(torch, 'compiler', None)
    return bool(compiler is not None and compiler.is_compiling())


def _cuda_compile_ok() -> bool:
    try:
        from torch.utils._triton import has_triton
        return bool(has_triton())
    except Exception:  # noqa: BLE001
        return False


def resolve_impl(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> str:
    """The concrete implementation ('reference', 'eager', 'cpp', 'compiled') for this call."""
    if impl == 'auto':
        impl = get_default_impl()
    check_impl(impl)
    if _in_graph_capture():
        return 'reference'
    if x.dtype not in _FLOATS:
        return 'reference'
    if impl == 'reference':
        return impl
    if impl == 'auto':
        if x.device.type == 'cpu':
            impl = 'cpp'
        elif x.device.type == 'cuda' and _cuda_compile_ok() and compiled_available():
            impl = 'compiled'
        else:
            impl = 'eager'
    if impl == 'cpp':
        same = all(t.dtype == x.dtype for t in (p1, p2, beta))
        if not (same and _cpu_kernel.supports(x, p1, p2, beta) and _cpu_kernel.available()):
            impl = 'eager'
    elif impl == 'compiled' and not compiled_available():
        impl = 'eager'
    return impl


def acon_c_dispatch(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str = 'auto') -> Tensor:
    """ACON-C through the implementation chosen by :func:`resolve_impl`."""
    concrete = resolve_impl(impl, x, p1, p2, beta)
    if concrete == 'reference':
        return acon_c_reference(x, p1, p2, beta)
    return AconCFunction.apply(x, p1, p2, beta, concrete)
