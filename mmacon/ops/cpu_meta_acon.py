"""Meta-ACON-C with the channel-wise generator as one fused CPU autograd node.

``beta = sigmoid(bn2(fc2(bn1(fc1(mean_hw x)))))`` on (N, C) features is a few thousand
flops, but ATen runs it as ~25 tiny ops plus their autograd nodes (~1 ms a call on two
threads, more than the ACON-C pass over an 8x64x56x56 map). Here one C++ call
(``meta_acon_cpu.cpp``) does the forward: the spatial sums, the generator in float64,
the ACON-C kernel of :mod:`.cpu_acon`; and one the backward: ACON-C's backward, the
generator's, and the mean's gradient added into grad_x. Saved for backward: x, the
coefficients and a float64 workspace of the generator's (N, C) intermediates.

Same numbers as the module path (``MetaAconC.generate_beta`` then ``acon_c``) to float
rounding, the BatchNorms' running statistics and ``num_batches_tracked`` included;
:func:`supports` says when a call is not taken (then the module path runs). It is the
``'cpp'`` entry of :data:`mmacon.ops.backends.META_ACON_FUSED`; whether it runs for an
``impl`` is decided by :func:`mmacon.ops.dispatch.choose`.

dtypes: x float32 or float64 with every coefficient, parameter and running statistic in
x's dtype; or x float16/bfloat16 (autocast) with all of those in float32: x, y and the
gradients of x are read and written in x's dtype, everything else is computed in
float32 (the generator in float64), as the ACON-C kernel (:mod:`.cpu_acon`).
"""
from __future__ import annotations

import ctypes
from typing import Optional, Tuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from . import cpu_acon
from .fused_generator import module_path_reason, norm_args

_SUFFIX = cpu_acon._SUFFIX
_STATS = ('running_mean', 'running_var')
_geometries: dict = {}
_VoidP12 = ctypes.c_void_p * 12


def available() -> Optional[str]:
    """None when the kernel library is loaded (building it on first use), else why not."""
    return cpu_acon.available()


def supports(x: Tensor, p1: Tensor, p2: Tensor, fc1: nn.Conv2d, bn1: nn.Module,
             fc2: nn.Conv2d, bn2: nn.Module) -> Optional[str]:
    """None when this call runs fused, else why not (then the module path runs)."""
    dtype = cpu_acon.coef_dtype(x.dtype)
    if x.device.type != 'cpu' or x.dtype not in _SUFFIX or x.dim() != 4 or x.numel() == 0:
        return (f'x is a {x.dtype} {tuple(x.shape)} tensor on {x.device}, not a floating-point '
                'non-empty (N, C, H, W) CPU tensor')
    why = module_path_reason(x, fc1, bn1, fc2, bn2)
    if why is not None:
        return why
    tensors = [p1, p2, *fc1._parameters.values(), *fc2._parameters.values()]
    for norm in (bn1, bn2):
        tensors += norm._parameters.values()
        tensors += (norm._buffers.get(k) for k in _STATS)
    for t in tensors:
        if t is not None and (t.dtype != dtype or t.device.type != 'cpu'):
            return (f'a coefficient, generator parameter or running statistic is {t.dtype} on '
                    f'{t.device}, x is {x.dtype} on {x.device} (the fused node takes them in '
                    f'{dtype} for it: under autocast keep the module in float32)')
    if fc1._parameters.get('bias') is None or fc2._parameters.get('bias') is None:
        return 'a generator conv has no bias'
    return None


def _geometry(x: Tensor, p1: Tensor, beta: Tensor) -> Tuple[ctypes.Array, ctypes.Array]:
    """(ACON-C geometry + (layout, N, C, H*W), coefficient sizes), cached by shape."""
    nhwc = not x.is_contiguous()
    key = (tuple(x.shape), nhwc, tuple(p1.shape))
    geo = _geometries.get(key)
    if geo is None:
        acon_geo, sizes = cpu_acon._geometry(x, p1, p1, beta)
        n, c, h, w = x.shape
        geo = ((ctypes.c_int64 * 16)(*acon_geo, int(nhwc), n, c, h * w), sizes)
        if len(_geometries) > 256:
            _geometries.clear()
        _geometries[key] = geo
    return geo


def _ptr(t: Optional[Tensor]) -> Optional[int]:
    return None if t is None else t.data_ptr()


class MetaAconCChannelFunction(torch.autograd.Function):
    """``apply(x, p1, p2, w1, b1, g1, e1, w2, b2, g2, e2, call)``; see :func:`meta_acon_c`.

    w*, b*: fc1/fc2 weights and biases; g*, e*: the norms' affine weight and bias (None
    without); call: (cfg, cfgd, running statistics) from :func:`meta_acon_c`. The
    running statistics are updated in place where cfg says so. Once differentiable.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p1: Tensor, p2: Tensor, w1: Tensor, b1: Tensor,  # type: ignore[override]
                g1: Optional[Tensor], e1: Optional[Tensor], w2: Tensor, b2: Tensor,
                g2: Optional[Tensor], e2: Optional[Tensor], call: tuple) -> Tensor:
        cfg, cfgd, stats = call
        n, c = x.shape[:2]
        beta = torch.empty((n, c, 1, 1), dtype=p1.dtype)
        geo, sizes = _geometry(x, p1, beta)
        threads = cpu_acon._threads(x)
        w1, w2, p1, p2 = w1.contiguous(), w2.contiguous(), p1.contiguous(), p2.contiguous()
        y = torch.empty_like(x)
        ws = torch.empty(3 * n * c + 2 * n * cfg[2] + cfg[2] + c, dtype=torch.float64)
        ptrs = _VoidP12(w1.data_ptr(), b1.data_ptr(), _ptr(g1), _ptr(e1), _ptr(stats[0]),
                        _ptr(stats[1]), w2.data_ptr(), b2.data_ptr(), _ptr(g2), _ptr(e2),
                        _ptr(stats[2]), _ptr(stats[3]))
        fn = cpu_acon.kernel('meta_acon_fwd', x.dtype)
        fn((ctypes.c_void_p * 6)(x.data_ptr(), y.data_ptr(), p1.data_ptr(), p2.data_ptr(),
                                 beta.data_ptr(), ws.data_ptr()), geo, cfg, cfgd, ptrs, threads)
        ctx.call = (cfg, cfgd, ptrs, geo, sizes, threads)
        ctx.save_for_backward(x, p1, p2, beta, ws, w1, b1, g1, e1, w2, b2, g2, e2)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, p1, p2, beta, ws, *params = ctx.saved_tensors
        cfg, cfgd, ptrs, geo, sizes, threads = ctx.call
        need = ctx.needs_input_grad
        grad = cpu_acon.grad_like(grad, x)
        gx = torch.empty_like(x) if need[0] else None
        gp1, gp2 = torch.empty_like(p1), torch.empty_like(p2)
        grads = [torch.empty_like(t) if n and t is not None else None
                 for t, n in zip(params, need[3:11])]
        fn = cpu_acon.kernel('meta_acon_bwd', x.dtype)
        fn((ctypes.c_void_p * 9)(grad.data_ptr(), x.data_ptr(), _ptr(gx), p1.data_ptr(),
                                 p2.data_ptr(), beta.data_ptr(), gp1.data_ptr(), gp2.data_ptr(),
                                 ws.data_ptr()),
           geo, sizes, cfg, cfgd, ptrs, (ctypes.c_void_p * 8)(*map(_ptr, grads)), threads)
        return (gx, gp1 if need[1] else None, gp2 if need[2] else None, *grads, None)


def meta_acon_c(x: Tensor, p1: Tensor, p2: Tensor, fc1: nn.Conv2d, bn1: nn.Module,
                fc2: nn.Conv2d, bn2: nn.Module, running: Tuple[bool, bool] = (False, False)
                ) -> Tensor:
    """Meta-ACON-C (channel-wise generator) of a call :func:`supports` accepts.

    Args:
        x: (N, C, H, W), contiguous or channels_last.
        p1, p2: (1, C, 1, 1) slopes.
        fc1, bn1, fc2, bn2: the generator's modules (bn*: BatchNorm2d or Identity).
        running: per norm, use the running statistics in training (see :func:`norm_args`).
    Returns:
        (N, C, H, W), in x's dtype and memory format.
    """
    m1, eps1, f1, g1, e1, rm1, rv1 = norm_args(bn1, running[0])
    m2, eps2, f2, g2, e2, rm2, rv2 = norm_args(bn2, running[1])
    n, c, h, w = x.shape
    w1, b1 = fc1._parameters['weight'], fc1._parameters['bias']
    cfg = (ctypes.c_int64 * 5)(n, c, w1.size(0), m1, m2)
    cfgd = (ctypes.c_double * 5)(eps1, f1, eps2, f2, 1.0 / (h * w))
    return MetaAconCChannelFunction.apply(
        x, p1, p2, w1, b1, g1, e1, fc2._parameters['weight'], fc2._parameters['bias'], g2, e2,
        (cfg, cfgd, (rm1, rv1, rm2, rv2)))
