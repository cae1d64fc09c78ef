"""The one place that decides which implementation runs (:func:`choose`), and :func:`acon_c`.

``impl`` values are ``'auto'`` and the names of :data:`mmacon.ops.backends.ACON_C`:

- ``'reference'``: the plain formula through autograd (:func:`acon_c_reference`).
- ``'eager'``: the lean Function in PyTorch ops (:mod:`.eager_acon`); runs everywhere.
- ``'cpp'``: the lean Function on the fused one-pass CPU kernel (:mod:`.cpu_acon`);
  float16/bfloat16 inputs are read and written as such and computed in float32.
- ``'triton'``: the lean Function on the Triton kernels (:mod:`.triton_acon`): CUDA, or CPU
  tensors under ``TRITON_INTERPRET=1``. Raises naming what is missing (CUDA, Triton)
  when it cannot run at all.
- ``'auto'``: the default set by :func:`set_default_impl` / :func:`default_impl` if any,
  else the first backend of the device's priority list (:data:`~.backends.AUTO`) that
  does not refuse the call: ``'cpp'`` then ``'eager'`` on CPU, ``'triton'`` then
  ``'eager'`` on CUDA, ``'eager'`` elsewhere. When the first refuses, the fallback is
  several times slower (``'eager'`` took 8-11x the C++ kernel's time for a bfloat16 input
  under autocast, 2 threads), so it warns once per reason, naming the reason and the fix.

An explicit impl that refuses a call (e.g. ``'cpp'`` with a non-contiguous input) hands
it to ``'eager'`` without a warning; :func:`explain_impl` says why and lists every
backend's refusal. Under tracing and ONNX export every impl is the plain formula; under
``torch.compile`` / ``torch.export`` every impl but ``'reference'`` is the custom op
``mmacon::acon_c`` (:mod:`.custom_op`), whose kernel is chosen at run time by
:func:`choose`. Meta-ACON's fused nodes (:data:`~.backends.META_ACON_FUSED`) are
chosen by the same function (kind ``'meta_acon_fused'``): ``'auto'`` and the impl a
node belongs to take it when it does not refuse, else the module path runs, without a
warning: its generator in ATen ops and its ACON-C on the same kernel took 0.7-1.5x the
fused node's time (8x64x56x56 and 2x64x200x336, float32 and bfloat16, 2 threads).

``impl='compiled'`` (the eager halves under ``torch.compile``) was removed: ``'auto'``
could pick it nowhere; ``torch.compile(model)`` compiles around the custom op instead.

Output dtype (all impls alike): the output has x's dtype and the gradients have each
input's dtype; low-precision inputs are computed in float32. E.g. a bfloat16 x under
autocast with float32 coefficients gives a bfloat16 output and float32 coefficient
gradients (the plain formula's type promotion would give float32; we cast back, as
PyTorch's own activations keep their input's dtype). An input with no elements gives the
empty output and zero coefficient gradients without launching a kernel.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Dict, Iterator, Optional, Tuple

import torch
from torch import Tensor

from .backends import ACON_C, AUTO, FIXES, FLOATS, TABLES
from .function import AconCFunction
from .reference import acon_c_reference

IMPLS: Tuple[str, ...] = ('auto',) + tuple(ACON_C)  # derived from the table
_REMOVED = {'compiled': "impl='compiled' was removed ('auto' could pick it nowhere); use "
                        "impl='auto' (under torch.compile(model) it is one custom op)"}

_state = threading.local()
_global_default = 'auto'
_warned: set = set()


def check_impl(impl: str) -> str:
    """``impl`` if it is one of :data:`IMPLS`, else a ValueError listing them."""
    if impl not in IMPLS:
        hint = f'; {_REMOVED[impl]}' if impl in _REMOVED else ''
        raise ValueError(f'unknown ACON-C impl {impl!r}, valid: {IMPLS}{hint}')
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


def _warn_fallback(kind: str, first: str, taken: str, device: str, why: str) -> None:
    key = (kind, first, why)
    if key in _warned:
        return
    _warned.add(key)
    fix = FIXES.get((kind, first), f"impl={first!r}'s requirements")
    warnings.warn(f"mmacon: impl='auto' runs ACON-C on {device} in {taken!r}, several times "
                  f'slower than {first!r}, which refuses this call: {why}. Fix: {fix}. '
                  f"(Warned once per reason; pass impl={taken!r} to choose it silently.)",
                  UserWarning, stacklevel=4)


def choose(kind: str, impl: str, x: Tensor, *args) -> Tuple[Optional[str], Optional[str]]:
    """(the backend of table ``kind`` that runs the call ``(x, *args)``, why not ``impl``).

    ``kind``: ``'acon_c'`` (args: p1, p2, beta) or ``'meta_acon_fused'`` (args: p1, p2, fc1,
    bn1, fc2, bn2). For ``'acon_c'`` the name is never None (``'eager'`` and
    ``'reference'`` take every call); for a fused kind None means the module path.
    The reason is None when ``impl`` (or, for ``'auto'``, its device's first choice)
    runs the call.
    """
    table = TABLES[kind]
    fused = kind != 'acon_c'
    if impl == 'auto':
        impl = get_default_impl()
    elif impl not in IMPLS:
        check_impl(impl)
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return (None if fused else 'reference'), 'tracing and ONNX export use the plain formula'
    if not fused and x.dtype not in FLOATS:
        return 'reference', f'x is {x.dtype}, not a floating-point tensor'
    if impl == 'auto':
        device = x.device.type
        # (a name without an entry in this install, e.g. a CUDA node not shipped, is skipped)
        order = tuple(n for n in AUTO[kind].get(device, AUTO[kind]['*']) if n in table)
        first_why = None
        for name in order:
            why = table[name].refuse(x, *args)
            if why is None:
                if first_why is not None and not fused:
                    _warn_fallback(kind, order[0], name, device, first_why)
                return name, first_why and f'{order[0]}: {first_why}'
            if first_why is None:
                first_why = why
        return None, (f'{order[0]}: {first_why}' if order else
                      f'no fused node runs on {device}')
    if impl not in table:
        return None, f"impl={impl!r} has no fused node (those: {', '.join(table)})"
    why = table[impl].refuse(x, *args)
    if why is None:
        return impl, None
    if fused:
        return None, f'{impl}: {why}'
    if impl == 'triton' and table[impl].available() is not None:
        raise RuntimeError(f"ACON-C impl='triton' cannot run: {why}. Use impl='auto' "
                           "(falls back to PyTorch ops) or another impl.")
    return 'eager', f'{impl}: {why}'


def refusals(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, kind: str = 'acon_c',
             *more) -> Dict[str, Optional[str]]:
    """Every backend of ``kind``'s table and why it refuses this call (None: it takes it)."""
    return {name: backend.refuse(x, p1, p2, beta, *more)
            for name, backend in TABLES[kind].items()}


def resolve_impl(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> str:
    """The implementation that runs this call in eager mode (never ``'auto'``)."""
    return choose('acon_c', impl, x, p1, p2, beta)[0]


def explain_impl(impl: str, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    """None when ``impl`` runs this call as asked; else why not, then every backend's refusal.

    E.g. ``"cpp: x is neither contiguous nor channels_last ...; runs 'eager'. reference:
    takes it; eager: takes it; cpp: x is neither ...; triton: no CUDA device ..."``.
    """
    name, why = choose('acon_c', impl, x, p1, p2, beta)
    if why is None:
        return None
    listing = '; '.join(f'{n}: {r or "takes it"}'
                        for n, r in refusals(x, p1, p2, beta).items())
    return f'{why}; runs {name!r}. {listing}'


def reference(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """The plain formula in x's dtype (the output-dtype policy above)."""
    return ACON_C['reference'].forward(x, p1, p2, beta)


@torch.jit.unused
def _dispatch(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, impl: str) -> Tensor:
    if torch.compiler.is_compiling():
        if impl == 'reference' or torch.onnx.is_in_onnx_export():
            return reference(x, p1, p2, beta)
        return torch.ops.mmacon.acon_c(x, p1, p2, beta, impl)
    name = choose('acon_c', impl, x, p1, p2, beta)[0]
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
