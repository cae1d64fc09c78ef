"""Meta-ACON-C with the channel-wise generator as one autograd node, Triton on CUDA.

The CUDA counterpart of :mod:`.cpu_meta_acon`. The module path runs
``beta = sigmoid(bn2(fc2(bn1(fc1(mean_hw x)))))`` as ~25 ATen ops with their autograd
nodes, then ACON-C. Here one node does:

- forward: the spatial sums of x (``_spatial_sum_kernel``, one pass that reads x), the
  (N, C)-sized generator in ATen, the ACON-C pass (:func:`.triton_acon.forward`);
- backward: the reductions dL/dp1, dL/dp2 (per channel) and dL/dbeta (per (n, c)) in
  one pass that reads x and grad (:func:`.triton_acon.backward` without grad_x), the
  generator's backward (``torch.autograd.grad`` on its small graph), then one pass that
  writes grad_x with the mean's gradient added (``_grad_x_kernel``:
  ``grad_x = grad * (d * g + p2) + dL/dmean[n, c] / (H * W)``).

The generator stays in ATen, on (N, C) tensors: ``F.linear`` for the 1x1 convs and
``F.batch_norm`` for the norms, the ops of the module path, built in this node's forward
on the detached mean under ``enable_grad`` from the tensors handed to the node (so the
gradients of fc1/fc2/BN parameters come back through it). The BatchNorms' running
statistics and ``num_batches_tracked`` step once per forward, as nn.BatchNorm2d's
(:func:`.fused_generator.norm_args`); backward differentiates the kept graph and never
runs the generator again. Its saved tensors are kept as they are, not handed to an
outer ``saved_tensors_hooks`` (non-reentrant checkpointing would otherwise recompute the
whole block once per gate; see :mod:`.small_graph`).

Dtypes: x float16, bfloat16, float32 or float64; sums and arithmetic in float32
(float64 for float64); output and grad_x in x's dtype. The generator runs in its
parameters' dtype, under the caller's autocast if any; a low-precision x with float32
parameters (autocast) is taken, p1/p2 may have another dtype than x.

Determinism: no atomics, no autotuning. Block sizes are a fixed function of the shape
(those of :mod:`.triton_acon`). Every program writes its partial sums to its own slot
and torch sums the slots over a fixed axis; two identical calls give bit-identical
results (the generator's ATen ops are deterministic on (N, C) tensors).

:func:`supports` says when a call is not taken (then the module path runs).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from . import triton_acon
from .fused_generator import module_path_reason, norm_args

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - triton_acon.available() says why
    triton = tl = None  # type: ignore[assignment]

__all__ = ['available', 'supports', 'meta_acon_c', 'MetaAconCTritonFunction']

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_NUM_WARPS = 4


# ------------------------------------------------------------------ kernels


def _jit(*ints: str):
    """triton.jit, not specialising on the values of ``ints`` (a value of 1 or a multiple of
    16 would each compile another variant); the contiguous extent I stays specialised, as
    its divisibility decides vectorised loads."""
    if triton is None:
        return lambda fn: fn
    return triton.jit(do_not_specialize=ints)


@_jit('R', 'RB', 'CB', 'tiles', 'count')
def _spatial_sum_kernel(x_ptr, part_ptr, R, I, RB, CB, tiles, count,
                        ALONG_ROWS: tl.constexpr, ACC: tl.constexpr, BR: tl.constexpr,
                        BI: tl.constexpr):
    """Partial spatial means of x seen as (O, R, I) (sums / ``count``), ``tiles`` (BR, BI)
    tiles a program.

    ALONG_ROWS (channels-last, (N, H*W, C)): the tiles stack along rows (pixels) and the
    program stores the column sums of its block in ``part[o, rb, :]`` (O, RB, I).
    Else (contiguous, (N, C, H*W)): the tiles stack along columns and the program stores
    the row sums in ``part[o, :, cb]`` (O, R, CB). The tile accumulates in registers and
    is reduced once, in a fixed order.
    """
    pid = tl.program_id(0)
    cb = pid % CB
    rb = (pid // CB) % RB
    o = (pid // CB // RB).to(tl.int64)
    acc = tl.zeros([BR, BI], dtype=ACC)
    if ALONG_ROWS:
        cols = cb * BI + tl.arange(0, BI)
        cmask1 = cols < I
        for k in range(tiles):
            rows = ((rb * tiles + k) * BR + tl.arange(0, BR)).to(tl.int64)
            mask = (rows < R)[:, None] & cmask1[None, :]
            acc += tl.load(x_ptr + (o * R + rows[:, None]) * I + cols[None, :], mask=mask,
                           other=0).to(ACC)
        tl.store(part_ptr + (o * RB + rb) * I + cols, tl.sum(acc, axis=0) / count,
                 mask=cmask1)
    else:
        rows = (rb * BR + tl.arange(0, BR)).to(tl.int64)
        rmask1 = rows < R
        for k in range(tiles):
            cols = (cb * tiles + k) * BI + tl.arange(0, BI)
            mask = rmask1[:, None] & (cols < I)[None, :]
            acc += tl.load(x_ptr + (o * R + rows[:, None]) * I + cols[None, :], mask=mask,
                           other=0).to(ACC)
        tl.store(part_ptr + (o * R + rows) * CB + cb, tl.sum(acc, axis=1) / count,
                 mask=rmask1)


@_jit('R', 'RB', 'CB', 'C', 'count')
def _grad_x_kernel(g_ptr, x_ptr, gx_ptr, p1_ptr, p2_ptr, b_ptr, gm_ptr, R, I, RB, CB, C,
                   count, CH_ROWS: tl.constexpr, ACC: tl.constexpr, BR: tl.constexpr,
                   BI: tl.constexpr):
    """``grad_x = grad * (d * g + p2) + gm[n, c] / count`` on one (BR, BI) tile of
    (O, R, I).

    p1, p2: (C,); beta, gm: (N, C) contiguous; the channel is the row (CH_ROWS,
    contiguous x) or the column (channels-last). ACON-C's d(y)/dx as
    :mod:`.triton_acon`; gm: the mean's gradient dL/dmean, count = H * W.
    """
    pid = tl.program_id(0)
    cb = pid % CB
    rb = (pid // CB) % RB
    o = (pid // CB // RB).to(tl.int64)
    cols = cb * BI + tl.arange(0, BI)
    rows = (rb * BR + tl.arange(0, BR)).to(tl.int64)
    rmask = (rows < R)[:, None]
    cmask = (cols < I)[None, :]
    mask = rmask & cmask
    offs = (o * R + rows[:, None]) * I + cols[None, :]
    if CH_ROWS:
        ch = rows[:, None]
        chmask = rmask
    else:
        ch = cols[None, :]
        chmask = cmask
    x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
    gr = tl.load(g_ptr + offs, mask=mask, other=0).to(ACC)
    p1 = tl.load(p1_ptr + ch, mask=chmask, other=0).to(ACC)
    p2 = tl.load(p2_ptr + ch, mask=chmask, other=0).to(ACC)
    b = tl.load(b_ptr + o * C + ch, mask=chmask, other=0).to(ACC)
    gm = tl.load(gm_ptr + o * C + ch, mask=chmask, other=0).to(ACC) / count
    d = p1 - p2
    t = b * (d * x)
    s = tl.sigmoid(t)
    g = s + t * (s * (1 - s))
    tl.store(gx_ptr + offs, gr * (d * g + p2) + gm, mask=mask)


_INTERPRETED = triton is not None and triton_acon._interpreted(_spatial_sum_kernel)


# ------------------------------------------------------------------ launches


def _view(x: Tensor) -> Tuple[bool, int, int, int]:
    """(contiguous?, O, R, I): x as (N, C, H*W) if contiguous, else (N, H*W, C)."""
    n, c, h, w = x.shape
    nchw = x.is_contiguous()
    return (nchw, n, c, h * w) if nchw else (nchw, n, h * w, c)


def _acc(x: Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _tl(dtype: torch.dtype):
    return tl.float64 if dtype == torch.float64 else tl.float32


def _device_ctx(x: Tensor):
    return triton_acon._device_ctx(x)


def spatial_mean(x: Tensor) -> Tensor:
    """(N, C) means of x (N, C, H, W) over H, W, in float32 (float64 for float64).

    Two stages: ``_spatial_sum_kernel`` writes one partial mean per program and channel,
    torch sums them over a fixed axis where there are several.
    """
    nchw, o, r, i = _view(x)
    hw = x.size(2) * x.size(3)
    br, bi = triton_acon._tile(r, i)
    along_rows = not nchw
    extent = triton.cdiv(r, br) if along_rows else triton.cdiv(i, bi)
    tiles = max(1, min(extent, triton_acon._PROGRAM // (br * bi)))
    rb = triton.cdiv(r, br * tiles) if along_rows else triton.cdiv(r, br)
    cb = triton.cdiv(i, bi) if along_rows else triton.cdiv(i, bi * tiles)
    acc = _acc(x)
    part = torch.empty((o, rb, i) if along_rows else (o, r, cb), dtype=acc, device=x.device)
    with _device_ctx(x):
        _spatial_sum_kernel[(o * rb * cb,)](x, part, r, i, rb, cb, tiles, hw,
                                            ALONG_ROWS=along_rows, ACC=_tl(acc), BR=br, BI=bi,
                                            num_warps=_NUM_WARPS)
    dim = 1 if along_rows else 2
    return part.sum(dim=dim) if part.size(dim) > 1 else part.squeeze(dim)


def grad_x(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, gm: Tensor
           ) -> Tensor:
    """ACON-C's grad_x plus ``gm / (H * W)`` (gm: (N, C), the mean's gradient) broadcast
    over H, W, in x's dtype and strides.

    ``grad`` has x's strides; p1, p2 hold C values, beta and gm N * C, contiguous.
    """
    nchw, o, r, i = _view(x)
    br, bi = triton_acon._tile(r, i)
    rb, cb = triton.cdiv(r, br), triton.cdiv(i, bi)
    gx = torch.empty_like(x)
    acc = torch.float64 if torch.float64 in (x.dtype, p1.dtype, beta.dtype, gm.dtype) \
        else torch.float32
    with _device_ctx(x):
        _grad_x_kernel[(o * rb * cb,)](grad, x, gx, p1, p2, beta, gm, r, i, rb, cb,
                                       x.size(1), x.size(2) * x.size(3), CH_ROWS=nchw,
                                       ACC=_tl(acc), BR=br, BI=bi, num_warps=_NUM_WARPS)
    return gx


# ------------------------------------------------------------------ the generator

_NormArgs = Tuple[int, float, float, Optional[Tensor], Optional[Tensor], Optional[Tensor],
                  Optional[Tensor]]


def _norm(y: Tensor, args: _NormArgs) -> Tensor:
    mode, eps, factor, g, e, rm, rv = args
    if mode == 0:
        return y
    return F.batch_norm(y, rm, rv, g, e, mode == 1, factor, eps)


def generator(mean: Tensor, w1: Tensor, b1: Optional[Tensor], n1: _NormArgs, w2: Tensor,
              b2: Optional[Tensor], n2: _NormArgs) -> Tensor:
    """beta (N, C, 1, 1) from the mean (N, C, 1, 1): the module path's ops, in ATen.

    n1, n2: :func:`.fused_generator.norm_args` of bn1, bn2 (mode, eps, momentum factor,
    weight, bias, running mean, running var).
    """
    n = mean.size(0)
    y = F.linear(mean.flatten(1), w1.flatten(1), b1)
    y = _norm(y.view(n, -1, 1, 1), n1)
    y = F.linear(y.flatten(1), w2.flatten(1), b2)
    y = _norm(y.view(n, -1, 1, 1), n2)
    return torch.sigmoid(y)


def _keep(t: Tensor) -> Tensor:
    return t


def _beta(x: Tensor, gen: Callable[[Tensor], Tensor], dtype: torch.dtype, record: bool
          ) -> Tuple[Tensor, Tensor, Tensor]:
    """(mean, beta, beta detached): the mean in ``dtype``, requiring grad when ``record``.

    With ``record`` the generator's graph is built (grad mode on, whatever the caller's)
    and its saved tensors are kept as they are (see the module docstring).
    """
    n, c, h, w = x.shape
    mean = spatial_mean(x).to(dtype).view(n, c, 1, 1)
    if not record:
        beta = gen(mean)
        return mean, beta, beta
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(_keep, _keep):
        mean.requires_grad_(True)
        beta = gen(mean)
    return mean, beta, beta.detach()


class MetaAconCTritonFunction(torch.autograd.Function):
    """``apply(x, p1, p2, w1, b1, g1, e1, w2, b2, g2, e2, gen)``; see :func:`meta_acon_c`.

    w*, b*: fc1/fc2 weights and biases; g*, e*: the norms' affine weight and bias (None
    without); gen: ``mean -> beta`` built on exactly these tensors. Once differentiable.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p1: Tensor, p2: Tensor, w1: Tensor,  # type: ignore[override]
                b1: Optional[Tensor], g1: Optional[Tensor], e1: Optional[Tensor], w2: Tensor,
                b2: Optional[Tensor], g2: Optional[Tensor], e2: Optional[Tensor],
                gen: Callable[[Tensor], Tensor]) -> Tensor:
        params = (w1, b1, g1, e1, w2, b2, g2, e2)
        # the generator's graph, when x or one of its parameters needs a gradient
        record = x.requires_grad or any(t is not None and t.requires_grad for t in params)
        mean, beta_graph, beta = _beta(x, gen, w1.dtype, record)
        ctx.graph = (mean, beta_graph, params) if record and beta_graph.requires_grad else None
        ctx.save_for_backward(x, p1, p2, beta)
        return triton_acon.forward(x, p1, p2, beta)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, p1, p2, beta = ctx.saved_tensors
        need = ctx.needs_input_grad
        need_p = need[1] or need[2]
        graph = ctx.graph  # kept (tiny) so that a retained outer graph can run again
        need_gen = graph is not None and any(need[:1] + need[3:11])
        out: list = [None] * 12
        if not (need_p or need_gen):
            return tuple(out)
        if not triton_acon._same_strides(x.shape, grad.stride(), x.stride()):
            grad = torch.empty_like(x).copy_(grad)  # x's strides (empty_like keeps them)
        _, gp1, gp2, gbeta = triton_acon.backward(grad, x, p1, p2, beta, False, need_p,
                                                  need_gen)
        if need[1]:
            out[1] = gp1
        if need[2]:
            out[2] = gp2
        gmean = None
        if need_gen:
            mean, beta_graph, params = graph
            wrt = [(0, mean)] if need[0] else []
            wrt += [(k + 3, t) for k, t in enumerate(params) if need[k + 3]]
            grads = torch.autograd.grad(beta_graph, [t for _, t in wrt],
                                        gbeta.to(beta_graph.dtype), retain_graph=True,
                                        allow_unused=True)
            for (k, _), g in zip(wrt, grads):
                out[k] = g
            gmean, out[0] = out[0], None
        if need[0]:
            n, c = x.shape[:2]
            gm = (torch.zeros((n, c), dtype=x.dtype, device=x.device) if gmean is None
                  else gmean.reshape(n, c).contiguous())
            out[0] = grad_x(grad, x, p1.reshape(-1).contiguous(), p2.reshape(-1).contiguous(),
                            beta.reshape(n, c).contiguous(), gm)
        return tuple(out)


# ------------------------------------------------------------------ public API


def available() -> Optional[str]:
    """None if the Triton kernels can run in this process, else the reason."""
    why = triton_acon.available()
    if why is None and _INTERPRETED != triton_acon._INTERPRETED:
        return ('TRITON_INTERPRET changed between the imports of mmacon.ops.triton_acon and '
                'mmacon.ops.triton_meta_acon; set it before anything imports triton')
    return why


def supports(x: Tensor, p1: Tensor, p2: Tensor, fc1: nn.Conv2d, bn1: nn.Module,
             fc2: nn.Conv2d, bn2: nn.Module) -> Optional[str]:
    """None when this call runs as the fused Triton node, else why not (then the module
    path runs). Same arguments as :func:`.cpu_meta_acon.supports`; which ``impl`` takes it
    is the table's business (:data:`mmacon.ops.backends.META_ACON_FUSED`: ``'triton'``, and
    ``'auto'`` on CUDA).
    """
    why = available()
    if why is not None:
        return why
    dtype = x.dtype
    if dtype not in _FLOATS or x.dim() != 4 or x.numel() == 0:
        return (f'x is a {dtype} {tuple(x.shape)} tensor, not a float16/bfloat16/float32/'
                'float64 non-empty (N, C, H, W) tensor')
    if x.device.type != 'cuda' and not (_INTERPRETED and x.device.type == 'cpu'):
        return (f'x is on {x.device}; the fused Triton generator needs CUDA tensors (or '
                'TRITON_INTERPRET=1 for CPU tensors)')
    why = module_path_reason(x, fc1, bn1, fc2, bn2)
    if why is not None:
        return why
    gen = [*fc1._parameters.values(), *fc2._parameters.values()]
    for norm in (bn1, bn2):
        gen += norm._parameters.values()
        gen += (norm._buffers.get(k) for k in ('running_mean', 'running_var'))
    gen = [t for t in gen if t is not None]
    pdtype = gen[0].dtype
    for k, t in enumerate(gen + [p1, p2]):
        mixed = k < len(gen) and t.dtype != pdtype
        if t.device != x.device or t.dtype not in _FLOATS or mixed:
            return (f'a coefficient, generator parameter or running statistic is {t.dtype} on '
                    f'{t.device}, fc1.weight is {pdtype}, x is {dtype} on {x.device}: the fused '
                    "generator needs them on x's device, the generator's in one dtype")
    if p1.numel() != x.size(1) or p2.numel() != x.size(1):
        return f'p1, p2 have shapes {tuple(p1.shape)}, {tuple(p2.shape)}: not one per channel'
    return None


def meta_acon_c(x: Tensor, p1: Tensor, p2: Tensor, fc1: nn.Conv2d, bn1: nn.Module,
                fc2: nn.Conv2d, bn2: nn.Module, running: Tuple[bool, bool] = (False, False)
                ) -> Tensor:
    """Meta-ACON-C (channel-wise generator) of a call :func:`supports` accepts.

    Args:
        x: (N, C, H, W), contiguous or channels_last, on CUDA (or CPU when interpreted).
        p1, p2: (1, C, 1, 1) slopes.
        fc1, bn1, fc2, bn2: the generator's modules (bn*: BatchNorm2d or Identity).
        running: per norm, use the running statistics in training (MetaAconC's fallback
            for one value per channel; see :func:`.fused_generator.norm_args`).
    Returns:
        (N, C, H, W), in x's dtype and memory format. Steps the BatchNorms' running
        statistics as the module path does.
    """
    n1 = norm_args(bn1, running[0])
    n2 = norm_args(bn2, running[1])
    w1, b1 = fc1._parameters['weight'], fc1._parameters.get('bias')
    w2, b2 = fc2._parameters['weight'], fc2._parameters.get('bias')

    def gen(mean: Tensor) -> Tensor:
        return generator(mean, w1, b1, n1, w2, b2, n2)

    params = (w1, b1, n1[3], n1[4], w2, b2, n2[3], n2[4])
    if not torch.is_grad_enabled():
        _, _, beta = _beta(x, gen, w1.dtype, False)
        return triton_acon.forward(x, p1, p2, beta)
    return MetaAconCTritonFunction.apply(x, p1, p2, *params, gen)
