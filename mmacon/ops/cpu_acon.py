"""The fused CPU backend (``impl='cpp'``): ``acon_c_cpu.cpp`` through ctypes.

The library is built, cached and loaded by :mod:`.cpp_loader`, beside the sources; the
same library holds ``meta_acon_cpu.cpp``, Meta-ACON's fused generator (:mod:`.cpu_meta_acon`).

Forward reads ``x`` and writes ``y``; backward reads ``x`` and ``grad``, writes ``grad_x``
and reduces the coefficients' gradients in the same pass (per-thread float64 buffers).

Handles float32/float64 CPU tensors with coefficients of ``x``'s dtype, and
float16/bfloat16 ones with float32 (or x's dtype: converted to float32 here, they are
small) coefficients: those are read and written in their own dtype and computed in
float32, their coefficient gradients reduced in float32 then float64 and returned in
float32 (the caller casts them to each coefficient's dtype). ``x`` contiguous or 4-D
channels_last; coefficients whose dims are each 1 or ``x``'s size (spatial dims all 1 or
all full). :func:`supports` says why any other call is not handled. A call with no
elements never reaches the kernel (:mod:`.function` returns the empty result).
"""
from __future__ import annotations

import ctypes
from typing import Optional, Tuple

import torch
from torch import Tensor

from . import cpp_loader

_SUFFIX = {torch.float32: 'f32', torch.float64: 'f64', torch.bfloat16: 'bf16',
           torch.float16: 'f16'}
_LOW = (torch.float16, torch.bfloat16)
_PARALLEL_MIN = 1 << 15  # elements; below this one thread is faster than waking a pool


def available() -> Optional[str]:
    """None when the kernel library is loaded (building it on first use), else why not."""
    return cpp_loader.available()


def coef_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the kernel takes coefficients in for an x of ``dtype``."""
    return torch.float32 if dtype in _LOW else dtype


# ---------------------------------------------------------------- geometry

_geometries: dict = {}


def _layout(x: Tensor) -> Optional[str]:
    if x.is_contiguous():
        return 'nchw'
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return 'nhwc'
    return None


def _coef_strides(c: Tensor, xs: torch.Size, layout: str) -> Optional[Tuple[int, int, int]]:
    """(s1, s2, sk) addressing a contiguous coefficient ``c`` along x's rows; None if not."""
    shape = (1,) * (len(xs) - c.dim()) + tuple(c.shape)
    if any(s not in (1, xs[i]) for i, s in enumerate(shape)):
        return None
    spatial = shape[2:]
    full = all(s == xs[2 + i] for i, s in enumerate(spatial))
    flat = all(s == 1 for s in spatial)
    if not (flat or full):
        return None  # partly broadcast spatial coefficient
    s_space = 1 if full else 0
    n_space = 1
    for s in spatial:
        n_space *= s
    sc = n_space if shape[1] > 1 else 0
    sn = shape[1] * n_space if shape[0] > 1 else 0
    if layout == 'nchw':
        return sn, sc, s_space
    if shape[1] > 1 and not flat:
        return None  # varies over channels and space: not contiguous along an NHWC row
    return sn, (1 if full else 0), (1 if shape[1] > 1 else 0)


def _geometry(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor):
    """The kernel's view of this call (cached by shapes), or the reason it has none."""
    layout = _layout(x)
    key = (x.shape, layout, p1.shape, p2.shape, beta.shape)
    geo = _geometries.get(key)
    if geo is not None:
        return geo
    if layout is None:
        return 'x is neither contiguous nor channels_last'
    xs = x.shape
    n, c = xs[0], xs[1]
    k = x.numel() // (n * c)
    geo_list = [n * c, k, c] if layout == 'nchw' else [n * k, c, k]
    for name, t in (('p1', p1), ('p2', p2), ('beta', beta)):
        strides = _coef_strides(t, xs, layout)
        if strides is None:
            return (f'{name} of shape {tuple(t.shape)} against x of shape {tuple(xs)} ({layout}): '
                    'the kernel needs each dim 1 or x\'s, spatial dims all 1 or all full, '
                    'and under channels_last not both channels and space')
        geo_list += strides
    sizes = (ctypes.c_int64 * 3)(p1.numel(), p2.numel(), beta.numel())
    geo = ((ctypes.c_int64 * len(geo_list))(*geo_list), sizes)
    if len(_geometries) > 256:
        _geometries.clear()
    _geometries[key] = geo
    return geo


def supports(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    """None when this call runs on the kernel, else why not (no build needed)."""
    if x.device.type != 'cpu':
        return f'x is on {x.device}, the kernel runs on CPU'
    if x.dtype not in _SUFFIX:
        return f'x is {x.dtype}, the kernel takes float16, bfloat16, float32 or float64'
    if x.dim() < 2:
        return f'x of shape {tuple(x.shape)} is not an (N, C, *) tensor'
    cdt = coef_dtype(x.dtype)
    for name, t in (('p1', p1), ('p2', p2), ('beta', beta)):
        if t.device.type != 'cpu' or t.dtype not in (x.dtype, cdt):
            return (f'{name} is {t.dtype} on {t.device}, x is {x.dtype} on {x.device} (the '
                    f'kernel takes coefficients in {cdt} for it)')
        if t.dim() > x.dim():
            return f'{name} has more dims than x'
    if x.numel() == 0:
        return None  # the empty result, without the kernel
    geo = _geometry(x, p1, p2, beta)
    return geo if isinstance(geo, str) else None


def library() -> ctypes.CDLL:
    """The loaded kernel library (built on first use); RuntimeError naming why if it cannot be."""
    return cpp_loader.library()


def grad_like(grad: Tensor, x: Tensor) -> Tensor:
    """``grad`` in x's dtype and memory format (e.g. the stride-0 gradient of a sum())."""
    if grad.dtype != x.dtype:
        grad = grad.to(x.dtype)
    fmt = torch.contiguous_format if x.is_contiguous() else torch.channels_last
    return grad.contiguous(memory_format=fmt)


def _threads(x: Tensor) -> int:
    return torch.get_num_threads() if x.numel() >= _PARALLEL_MIN else 1


def _coefs(x: Tensor, *ts: Tensor) -> Tuple[Tensor, ...]:
    """The coefficients contiguous, in the dtype the kernel takes for x (as they are when
    they already are: the common case costs two attribute reads, not two calls)."""
    cdt = coef_dtype(x.dtype)
    return tuple(t if t.dtype == cdt and t.is_contiguous() else t.to(cdt).contiguous()
                 for t in ts)


_kernels: dict = {}  # (name, dtype) -> the library's function


def kernel(name: str, dtype: torch.dtype):
    """The library's ``{name}_{suffix}`` function for an x of ``dtype`` (looked up once)."""
    fn = _kernels.get((name, dtype))
    if fn is None:
        fn = _kernels[(name, dtype)] = getattr(library(), f'{name}_{_SUFFIX[dtype]}')
    return fn


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """ACON-C of a call :func:`supports` accepts; y has x's dtype and memory format."""
    y = torch.empty_like(x)
    if x.numel() == 0:
        return y
    geo, _ = _geometry(x, p1, p2, beta)
    p1, p2, beta = _coefs(x, p1, p2, beta)
    fn = kernel('acon_c_fwd', x.dtype)
    fn(x.data_ptr(), y.data_ptr(), p1.data_ptr(), p2.data_ptr(), beta.data_ptr(), geo,
       _threads(x))
    return y


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool = True, need_p: bool = True, need_beta: bool = True
             ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """(grad_x, grad_p1, grad_p2, grad_beta), None where not needed.

    grad_x has x's dtype and memory format; the coefficients' gradients their shapes, in
    :func:`coef_dtype` of x (float32 for a float16/bfloat16 x). One pass computes all of
    them; the flags only skip writing grad_x and returning.
    """
    if x.numel() == 0:
        g1, g2, gb = (torch.zeros(t.shape, dtype=coef_dtype(x.dtype)) for t in (p1, p2, beta))
        gx = torch.empty_like(x) if need_x else None
        return gx, g1 if need_p else None, g2 if need_p else None, gb if need_beta else None
    geo, sizes = _geometry(x, p1, p2, beta)
    grad = grad_like(grad, x)
    p1, p2, beta = _coefs(x, p1, p2, beta)
    gx = torch.empty_like(x) if need_x else None
    g1, g2, gb = torch.empty_like(p1), torch.empty_like(p2), torch.empty_like(beta)
    fn = kernel('acon_c_bwd', x.dtype)
    fn(grad.data_ptr(), x.data_ptr(), None if gx is None else gx.data_ptr(), p1.data_ptr(),
       p2.data_ptr(), beta.data_ptr(), g1.data_ptr(), g2.data_ptr(), gb.data_ptr(), geo, sizes,
       _threads(x))
    return gx, g1 if need_p else None, g2 if need_p else None, gb if need_beta else None
