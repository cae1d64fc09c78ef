"""ACON-C in Triton: a forward kernel and a one-pass backward kernel, deterministic.

Formula (``x`` is (N, C, *); d = p1 - p2, u = d * x, t = beta * u, s = sigmoid(t)):

    y        = u * s + p2 * x = x * (d * s + p2)
    g        = s + t * s * (1 - s)                     (d(u * s)/du)
    dL/dx    = grad * (d * g + p2)
    dL/dp1   = sum(grad * x * g)                       reduced to p1's shape
    dL/dp2   = sum(grad * x) - dL/dp1                  reduced to p2's shape
    dL/dbeta = sum(grad * u^2 * s * (1 - s))           reduced to beta's shape

Shapes. Each of p1, p2, beta independently (left-padded with ones to x's rank, as
broadcasting does): dim 0 is 1 or N, dim 1 is 1 or C, the spatial dims are all 1 or
all equal to x's. That covers (1, C, 1, 1) per channel, (N, C, 1, 1) per sample and
channel, (N, 1, 1, 1) per sample, (N, 1, H, W) per pixel, (1, 1, 1, 1) and also
(1, C, H, W), (N, C, H, W), (1, 1, H, W). ``x`` has rank >= 2 ((N, C), (N, C, L),
(N, C, H, W), (N, C, D, H, W)).

Layouts. ``x`` contiguous or channels-last (C innermost, then the spatial dims in order,
N outermost: ``torch.channels_last`` for rank 4, ``channels_last_3d`` for rank 5, and
``t.transpose(1, 2)`` of a contiguous (N, L, C) for rank 3). Both are seen as one
contiguous (O, R, I) array, I the contiguous dim: contiguous -> (N, C, H*W), rows are
the (n, c) planes; channels-last -> (N, H*W, C), rows are the pixels; with no spatial
extent -> (1, N, C). ``y`` and ``grad_x`` get ``x``'s strides; ``grad`` is copied into
them first if it has other strides (e.g. the expanded ones of ``y.sum()``).

Kernels. Tiles are (BR, BI), BI along the contiguous dim. A forward program does one
tile: reads x once, loads each coefficient once (a scalar, a (1, BI) row, a (BR, 1)
column or a tile, after what it varies along) and writes y once. A backward program
does TILES tiles stacked along rows or along columns (``_backward_blocks``: the
direction along which most needed gradients' coefficients are constant, i.e. along
columns for per-channel coefficients of contiguous x, along rows for channels-last);
a coefficient constant along that direction is loaded once per program and its
gradient terms accumulate in a (BR, BI) register tile reduced once at the end; the
others are loaded and reduced per tile. It reads x and grad once and writes grad_x
and the small partial sums. Arithmetic in float32 (float64 when any input is
float64), whatever the storage dtype (float16, bfloat16, float32, float64; the
coefficients may have another dtype than x, e.g. float32 under autocast).

Determinism. No atomics, no autotuning: block sizes are a fixed function of the shape
(``_tile``, ``_backward_blocks``). Each backward program writes its partial sums of
dp1, dp2, dbeta to its own slots of a buffer (O, R or RB, I or CB), at the finest
granularity the coefficient needs: per element, per row, per column or per program.
Torch then sums that buffer over fixed axes (``_reduce``) and reshapes it to the
coefficient's shape. Two identical calls give bit-identical results.

Interpreter. With ``TRITON_INTERPRET=1`` set before triton is imported (``triton.jit``
reads it when it decorates: triton's ``tl.sum``/``tl.sigmoid`` at ``import triton``,
these kernels at this module's import), the kernels run on CPU tensors, slowly (tests;
``tests/conftest.py`` sets it where CUDA is absent). The interpreter rounds float32 to
bfloat16 by truncation where GPUs round to nearest.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

try:
    import triton
    import triton.language as tl
    _IMPORT_ERROR: Optional[str] = None
except ImportError as _e:  # pragma: no cover - triton ships with the CUDA torch wheels
    triton = tl = None  # type: ignore[assignment]
    _IMPORT_ERROR = f'triton is not installed ({_e}); install the torch wheel that bundles it'

__all__ = ['available', 'supports', 'forward', 'backward']

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_SHAPES_HELP = ('dim 0 of size 1 or N, dim 1 of size 1 or C, spatial dims all 1 or all '
                "equal to x's, e.g. (1, C, 1, 1), (N, C, 1, 1), (N, 1, 1, 1), (N, 1, H, W)")

# Block-size heuristic (fixed: no autotuning, for determinism). Tests shrink them to
# exercise many programs, tiles and masked edges on small inputs.
_MAX_BI = 1024             # columns per program (power of two)
_TILE = 2048               # elements per (BR, BI) tile
_PROGRAM = 16384           # elements per backward program (TILES tiles)
_NUM_WARPS = 4


# ------------------------------------------------------------------ kernels

_jit = triton.jit if triton is not None else (lambda fn: fn)


@_jit
def _load_coef(ptr, base, rows2, cols2, sr, si, mask, rmask, cmask,
               VR: tl.constexpr, VI: tl.constexpr, ACC: tl.constexpr):
    """A coefficient over a (BR, BI) tile: a (BR, BI) tile if it varies along rows (VR)
    and columns (VI), a (BR, 1) column, a (1, BI) row, or a scalar."""
    if VR:
        if VI:
            v = tl.load(ptr + base + rows2 * sr + cols2 * si, mask=mask, other=0)
        else:
            v = tl.load(ptr + base + rows2 * sr, mask=rmask, other=0)
    else:
        if VI:
            v = tl.load(ptr + base + cols2 * si, mask=cmask, other=0)
        else:
            v = tl.load(ptr + base)
    return v.to(ACC)


@_jit
def _store_partial(part_ptr, v, o, R, I, RB, CB, rb, cb, rows1, cols1, rmask1, cmask1,
                   VR: tl.constexpr, VI: tl.constexpr):
    """Sum a (BR, BI) tile over the axes the coefficient is constant on and store it in
    its slot of the partial buffer (O, R if VR else RB, I if VI else CB)."""
    if VR:
        if VI:
            tl.store(part_ptr + (o * R + rows1[:, None]) * I + cols1[None, :], v,
                     mask=rmask1[:, None] & cmask1[None, :])
        else:
            tl.store(part_ptr + (o * R + rows1) * CB + cb, tl.sum(v, axis=1), mask=rmask1)
    else:
        if VI:
            tl.store(part_ptr + (o * RB + rb) * I + cols1, tl.sum(v, axis=0), mask=cmask1)
        else:
            tl.store(part_ptr + (o * RB + rb) * CB + cb, tl.sum(v))


@_jit
def _acon_c_fwd_kernel(
        x_ptr, y_ptr, p1_ptr, p2_ptr, b_ptr, R, I, RB, CB,
        p1_so, p1_sr, p1_si, p2_so, p2_sr, p2_si, b_so, b_sr, b_si,
        P1_R: tl.constexpr, P1_I: tl.constexpr, P2_R: tl.constexpr, P2_I: tl.constexpr,
        B_R: tl.constexpr, B_I: tl.constexpr,
        ACC: tl.constexpr, BR: tl.constexpr, BI: tl.constexpr):
    """y = x * (d * sigmoid(beta * d * x) + p2) on one (BR, BI) tile per program."""
    pid = tl.program_id(0)
    cb = pid % CB
    rb = (pid // CB) % RB
    o = (pid // CB // RB).to(tl.int64)
    cols = cb * BI + tl.arange(0, BI)
    rows = (rb * BR + tl.arange(0, BR)).to(tl.int64)
    cmask = (cols < I)[None, :]
    rmask = (rows < R)[:, None]
    mask = rmask & cmask
    cols2 = cols[None, :]
    rows2 = rows[:, None]
    offs = (o * R + rows2) * I + cols2
    x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
    p1 = _load_coef(p1_ptr, o * p1_so, rows2, cols2, p1_sr, p1_si, mask, rmask, cmask,
                    P1_R, P1_I, ACC)
    p2 = _load_coef(p2_ptr, o * p2_so, rows2, cols2, p2_sr, p2_si, mask, rmask, cmask,
                    P2_R, P2_I, ACC)
    b = _load_coef(b_ptr, o * b_so, rows2, cols2, b_sr, b_si, mask, rmask, cmask,
                   B_R, B_I, ACC)
    d = p1 - p2
    s = tl.sigmoid(b * d * x)
    tl.store(y_ptr + offs, x * (d * s + p2), mask=mask)


@_jit
def _acon_c_bwd_kernel(
        g_ptr, x_ptr, gx_ptr, p1_ptr, p2_ptr, b_ptr, gp1_ptr, gp2_ptr, gb_ptr,
        R, I, RB, CB,
        p1_so, p1_sr, p1_si, p2_so, p2_sr, p2_si, b_so, b_sr, b_si,
        P1_R: tl.constexpr, P1_I: tl.constexpr, P2_R: tl.constexpr, P2_I: tl.constexpr,
        B_R: tl.constexpr, B_I: tl.constexpr,
        NEED_X: tl.constexpr, NEED_P: tl.constexpr, NEED_B: tl.constexpr,
        P1_H: tl.constexpr, P2_H: tl.constexpr, B_H: tl.constexpr,
        ACC: tl.constexpr, BR: tl.constexpr, BI: tl.constexpr, TILES: tl.constexpr,
        ALONG_ROWS: tl.constexpr):
    """grad_x and the partial sums of dp1, dp2, dbeta over TILES (BR, BI) tiles, stacked
    along rows (ALONG_ROWS) or along columns.

    A coefficient constant along the stacking direction (``*_H``, "hoisted") is loaded
    once, and its gradient, whose slot does not move along it either, is accumulated over
    the tiles in a (BR, BI) register tile and summed once at the end; the others are
    loaded, summed and stored per tile.
    """
    pid = tl.program_id(0)
    cb = pid % CB
    rb = (pid // CB) % RB
    o = (pid // CB // RB).to(tl.int64)
    if ALONG_ROWS:
        row0 = rb * (BR * TILES)
        col0 = cb * BI
    else:
        row0 = rb * BR
        col0 = cb * (BI * TILES)
    rows1 = (row0 + tl.arange(0, BR)).to(tl.int64)
    cols1 = col0 + tl.arange(0, BI)
    rmask1 = rows1 < R
    cmask1 = cols1 < I
    rmask = rmask1[:, None]
    cmask = cmask1[None, :]
    if P1_H:
        p1_h = _load_coef(p1_ptr, o * p1_so, rows1[:, None], cols1[None, :], p1_sr, p1_si,
                          rmask & cmask, rmask, cmask, P1_R, P1_I, ACC)
    if P2_H:
        p2_h = _load_coef(p2_ptr, o * p2_so, rows1[:, None], cols1[None, :], p2_sr, p2_si,
                          rmask & cmask, rmask, cmask, P2_R, P2_I, ACC)
    if B_H:
        b_h = _load_coef(b_ptr, o * b_so, rows1[:, None], cols1[None, :], b_sr, b_si,
                         rmask & cmask, rmask, cmask, B_R, B_I, ACC)
    acc1 = tl.zeros([BR, BI], dtype=ACC)
    acc2 = tl.zeros([BR, BI], dtype=ACC)
    accb = tl.zeros([BR, BI], dtype=ACC)
    for k in range(TILES):
        if ALONG_ROWS:
            rows1 = (row0 + k * BR + tl.arange(0, BR)).to(tl.int64)
            rmask1 = rows1 < R
            rmask = rmask1[:, None]
        else:
            cols1 = col0 + k * BI + tl.arange(0, BI)
            cmask1 = cols1 < I
            cmask = cmask1[None, :]
        rows2 = rows1[:, None]
        cols2 = cols1[None, :]
        mask = rmask & cmask
        offs = (o * R + rows2) * I + cols2
        x = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
        gr = tl.load(g_ptr + offs, mask=mask, other=0).to(ACC)
        if P1_H:
            p1 = p1_h
        else:
            p1 = _load_coef(p1_ptr, o * p1_so, rows2, cols2, p1_sr, p1_si, mask, rmask, cmask,
                            P1_R, P1_I, ACC)
        if P2_H:
            p2 = p2_h
        else:
            p2 = _load_coef(p2_ptr, o * p2_so, rows2, cols2, p2_sr, p2_si, mask, rmask, cmask,
                            P2_R, P2_I, ACC)
        if B_H:
            b = b_h
        else:
            b = _load_coef(b_ptr, o * b_so, rows2, cols2, b_sr, b_si, mask, rmask, cmask,
                           B_R, B_I, ACC)
        d = p1 - p2
        u = d * x
        t = b * u
        s = tl.sigmoid(t)
        ds = s * (1 - s)
        g = s + t * ds
        if NEED_X:
            tl.store(gx_ptr + offs, gr * (d * g + p2), mask=mask)
        # masked lanes have x = grad = 0: they add 0 to every sum
        if NEED_P:
            gxx = gr * x
            e1 = gxx * g
            e2 = gxx - e1
            if P1_H:
                acc1 += e1
            else:
                _store_partial(gp1_ptr, e1, o, R, I, RB, CB, rb, cb, rows1, cols1,
                               rmask1, cmask1, P1_R, P1_I)
            if P2_H:
                acc2 += e2
            else:
                _store_partial(gp2_ptr, e2, o, R, I, RB, CB, rb, cb, rows1, cols1,
                               rmask1, cmask1, P2_R, P2_I)
        if NEED_B:
            eb = gr * u * u * ds
            if B_H:
                accb += eb
            else:
                _store_partial(gb_ptr, eb, o, R, I, RB, CB, rb, cb, rows1, cols1,
                               rmask1, cmask1, B_R, B_I)
    # the accumulated ones: their slot index does not depend on the moving coordinate
    if NEED_P:
        if P1_H:
            _store_partial(gp1_ptr, acc1, o, R, I, RB, CB, rb, cb, rows1, cols1,
                           rmask1, cmask1, P1_R, P1_I)
        if P2_H:
            _store_partial(gp2_ptr, acc2, o, R, I, RB, CB, rb, cb, rows1, cols1,
                           rmask1, cmask1, P2_R, P2_I)
    if NEED_B:
        if B_H:
            _store_partial(gb_ptr, accb, o, R, I, RB, CB, rb, cb, rows1, cols1,
                           rmask1, cmask1, B_R, B_I)


def _interpreted(fn) -> bool:
    try:
        from triton.runtime.interpreter import InterpretedFunction
    except ImportError:  # pragma: no cover
        return False
    return isinstance(fn, InterpretedFunction)


# triton.jit reads TRITON_INTERPRET when it decorates: triton's own jitted helpers
# (tl.sum, tl.sigmoid) at `import triton`, our kernels at this module's import.
_INTERPRETED = triton is not None and _interpreted(_acon_c_fwd_kernel)
_MODE_MISMATCH = (triton is not None
                  and _interpreted(getattr(tl.standard, 'sum', None)) != _INTERPRETED)


# ------------------------------------------------------------------ geometry

@dataclass(frozen=True)
class _Coef:
    """A coefficient made contiguous, and its strides in x's (O, R, I) view (0: constant)."""
    data: Tensor
    shape: torch.Size          # the caller's shape (gradient shape)
    so: int
    sr: int
    si: int


@dataclass(frozen=True)
class _Plan:
    view: str                  # 'nchw': (N, C, S); 'nhwc': (N, S, C); 'rows': (1, N, C)
    O: int
    R: int
    I: int
    coefs: Tuple[_Coef, _Coef, _Coef]
    acc64: bool


def _channels_last_strides(shape: torch.Size) -> Tuple[int, ...]:
    c, sp = shape[1], tuple(shape[2:])
    strides = [0] * len(shape)
    step = c
    for k in range(len(sp) - 1, -1, -1):
        strides[2 + k] = step
        step *= sp[k]
    strides[0], strides[1] = step, 1
    return tuple(strides)


def _same_strides(shape: torch.Size, a: Tuple[int, ...], b: Tuple[int, ...]) -> bool:
    return all(size == 1 or sa == sb for size, sa, sb in zip(shape, a, b))


def _plan(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> _Plan | str:
    """The kernels' view of this call, or the reason it cannot run."""
    reason = available()
    if reason:
        return reason
    named = (('x', x), ('p1', p1), ('p2', p2), ('beta', beta))
    for name, t in named:
        if not isinstance(t, Tensor):
            return f'{name} is a {type(t).__name__}, the Triton ACON-C kernels need tensors'
        if t.dtype not in _FLOATS:
            return (f'{name} has dtype {t.dtype}; the Triton ACON-C kernels take float16, '
                    'bfloat16, float32 or float64')
    interp = _INTERPRETED
    for name, t in named:
        if t.device != x.device:
            return f'{name} is on {t.device} but x is on {x.device}'
    if x.device.type != 'cuda' and not (interp and x.device.type == 'cpu'):
        return (f'x is on {x.device}; the Triton ACON-C kernels need CUDA tensors '
                '(or TRITON_INTERPRET=1 for CPU tensors)')
    if x.dim() < 2:
        return f'x has shape {tuple(x.shape)}; the Triton ACON-C kernels need (N, C, *)'
    shape = x.shape
    n, c, sp = shape[0], shape[1], tuple(shape[2:])
    s = math.prod(sp)
    if x.is_contiguous():
        view = 'rows' if s == 1 else 'nchw'
    elif _same_strides(shape, x.stride(), _channels_last_strides(shape)):
        view = 'rows' if s == 1 else 'nhwc'
    else:
        return (f'x has shape {tuple(shape)} and strides {x.stride()}, neither contiguous nor '
                'channels-last; the Triton ACON-C kernels take those two layouts '
                '(call .contiguous() first)')
    coefs = []
    for name, t in named[1:]:
        if t.dim() > x.dim():
            return (f'{name} has shape {tuple(t.shape)}, more dims than x {tuple(shape)}; '
                    f'the Triton ACON-C kernels take coefficients with {_SHAPES_HELP}')
        cs = (1,) * (x.dim() - t.dim()) + tuple(t.shape)
        a, b, csp = cs[0], cs[1], cs[2:]
        sp_ones = all(v == 1 for v in csp)
        if a not in (1, n) or b not in (1, c) or not (sp_ones or csp == sp):
            return (f'{name} has shape {tuple(t.shape)} against x {tuple(shape)}; the Triton '
                    f'ACON-C kernels take coefficients with {_SHAPES_HELP}')
        sp_len = 1 if sp_ones else s
        sn = b * sp_len if (a == n and n > 1) else 0          # strides of (a, b, sp_len)
        sc = sp_len if (b == c and c > 1) else 0
        ss = 1 if sp_len > 1 else 0
        strides = {'nchw': (sn, sc, ss), 'nhwc': (sn, ss, sc), 'rows': (0, sn, sc)}[view]
        coefs.append(_Coef(t.contiguous(), t.shape, *strides))
    o, r, i = {'nchw': (n, c, s), 'nhwc': (n, s, c), 'rows': (1, n, c)}[view]
    acc64 = any(t.dtype == torch.float64 for _, t in named)
    return _Plan(view, o, r, i, tuple(coefs), acc64)  # type: ignore[arg-type]


def _pow2(v: int) -> int:
    return 1 << max(0, int(v) - 1).bit_length()


def _tile(r: int, i: int) -> Tuple[int, int]:
    """(BR, BI): rows and columns of a tile, powers of two, about _TILE elements."""
    bi = min(_pow2(i), _MAX_BI)
    return min(_pow2(r), max(1, _TILE // bi)), bi


def _backward_blocks(plan: _Plan, need_p: bool, need_beta: bool) -> Tuple[int, int, int, bool]:
    """(BR, BI, TILES, ALONG_ROWS) of the backward programs.

    Tiles are stacked along the direction most needed gradients are constant on, so
    that they accumulate in registers: along rows for coefficients constant over rows
    (per channel with channels-last), along columns for those constant over columns
    (per channel with contiguous x). A fixed function of the shapes: a call always gets
    the same partition, hence the same summation order.
    """
    br, bi = _tile(plan.R, plan.I)
    needed = [cf for cf, need in zip(plan.coefs, (need_p, need_p, need_beta)) if need]
    row_only = sum(1 for cf in needed if cf.sr and not cf.si)
    col_only = sum(1 for cf in needed if cf.si and not cf.sr)
    along_rows = row_only <= col_only
    extent = triton.cdiv(plan.R, br) if along_rows else triton.cdiv(plan.I, bi)
    tiles = max(1, min(extent, _PROGRAM // (br * bi)))
    return br, bi, tiles, along_rows


def _coef_args(plan: _Plan) -> tuple:
    return tuple(v for cf in plan.coefs for v in (cf.so, cf.sr, cf.si))


def _coef_flags(plan: _Plan) -> dict:
    (p1, p2, b) = plan.coefs
    return dict(P1_R=p1.sr != 0, P1_I=p1.si != 0, P2_R=p2.sr != 0, P2_I=p2.si != 0,
                B_R=b.sr != 0, B_I=b.si != 0)


def _device_ctx(x: Tensor):
    return torch.cuda.device(x.device) if x.device.type == 'cuda' else contextlib.nullcontext()


def _forward_launch(plan: _Plan, x: Tensor, y: Tensor):
    """(kernel, grid, args, constexprs) of the forward launch: one tile a program."""
    br, bi = _tile(plan.R, plan.I)
    rb, cb = triton.cdiv(plan.R, br), triton.cdiv(plan.I, bi)
    p1, p2, b = (cf.data for cf in plan.coefs)
    args = (x, y, p1, p2, b, plan.R, plan.I, rb, cb) + _coef_args(plan)
    const = dict(_coef_flags(plan), ACC=tl.float64 if plan.acc64 else tl.float32, BR=br, BI=bi)
    return _acon_c_fwd_kernel, (plan.O * rb * cb,), args, const


def _backward_launch(plan: _Plan, grad: Tensor, x: Tensor, gx: Tensor,
                     need_x: bool, need_p: bool, need_beta: bool):
    """(kernel, grid, args, constexprs, partial buffers) of the backward launch.

    A coefficient's partial buffer is (O, R if it varies along rows else RB,
    I if it varies along columns else CB), RB x CB the programs' blocks of one o.
    """
    br, bi, tiles, along_rows = _backward_blocks(plan, need_p, need_beta)
    rb = triton.cdiv(plan.R, br * tiles if along_rows else br)
    cb = triton.cdiv(plan.I, bi if along_rows else bi * tiles)
    acc = torch.float64 if plan.acc64 else torch.float32
    parts = []
    for cf, need in zip(plan.coefs, (need_p, need_p, need_beta)):
        shape = (plan.O, plan.R if cf.sr else rb, plan.I if cf.si else cb)
        parts.append(torch.empty(shape, dtype=acc, device=x.device) if need else None)
    p1, p2, b = (cf.data for cf in plan.coefs)
    ptrs = tuple(p if p is not None else x for p in parts)   # unused slots: any pointer
    args = (grad, x, gx, p1, p2, b) + ptrs + (plan.R, plan.I, rb, cb) + _coef_args(plan)
    hoisted = [not (cf.sr if along_rows else cf.si) for cf in plan.coefs]
    const = dict(_coef_flags(plan), NEED_X=need_x, NEED_P=need_p, NEED_B=need_beta,
                 P1_H=hoisted[0], P2_H=hoisted[1], B_H=hoisted[2],
                 ACC=tl.float64 if plan.acc64 else tl.float32, BR=br, BI=bi, TILES=tiles,
                 ALONG_ROWS=along_rows)
    return _acon_c_bwd_kernel, (plan.O * rb * cb,), args, const, parts


def _reduce(part: Tensor, cf: _Coef, view: str) -> Tensor:
    """Second stage: sum the partials over fixed axes, to the coefficient's shape and dtype."""
    if not cf.sr:
        part = part.sum(dim=1, keepdim=True)
    if not cf.si:
        part = part.sum(dim=2, keepdim=True)
    if not cf.so:
        part = part.sum(dim=0, keepdim=True)
    if view == 'nhwc':
        part = part.permute(0, 2, 1)
    return part.reshape(cf.shape).to(cf.data.dtype)


def _check(plan: _Plan | str) -> _Plan:
    if isinstance(plan, str):
        raise ValueError(f'mmacon.ops.triton_acon: {plan}')
    return plan


# ------------------------------------------------------------------ public API

def available() -> Optional[str]:
    """None if the Triton kernels can run in this process, else the reason."""
    if _IMPORT_ERROR:
        return _IMPORT_ERROR
    if _MODE_MISMATCH:
        return ('TRITON_INTERPRET changed between `import triton` and the import of '
                'mmacon.ops.triton_acon, so the kernels and triton\'s tl.sum disagree on '
                'the interpreter; set it before anything imports triton (environment, '
                'conftest.py)')
    if _INTERPRETED:
        return None
    if not torch.cuda.is_available():
        return ('no CUDA device (set TRITON_INTERPRET=1 before triton is imported to run '
                'the kernels on CPU tensors)')
    return None


def supports(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
    """None if ``forward``/``backward`` can run on these inputs here, else the reason
    (naming the offending dtype, device, layout or coefficient shape)."""
    plan = _plan(x, p1, p2, beta)
    return plan if isinstance(plan, str) else None


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
            out_dtype: Optional[torch.dtype] = None) -> Tensor:
    """``y = x * (d * sigmoid(beta * d * x) + p2)``, ``d = p1 - p2``, with ``x``'s strides.

    ``out_dtype`` defaults to ``x.dtype``. Raises ValueError with the reason where
    :func:`supports` gives one.
    """
    plan = _check(_plan(x, p1, p2, beta))
    out_dtype = x.dtype if out_dtype is None else out_dtype
    if out_dtype not in _FLOATS:
        raise ValueError(f'mmacon.ops.triton_acon: out_dtype {out_dtype} is not a float dtype')
    y = torch.empty_strided(x.shape, x.stride(), dtype=out_dtype, device=x.device)
    if x.numel() == 0:
        return y
    kernel, grid, args, const = _forward_launch(plan, x, y)
    with _device_ctx(x):
        kernel[grid](*args, **const, num_warps=_NUM_WARPS)
    return y


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool = True, need_p: bool = True, need_beta: bool = True
             ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """``(grad_x, grad_p1, grad_p2, grad_beta)`` of :func:`forward` in one pass.

    ``grad_x`` has ``x``'s dtype and strides; the others the shape and dtype of their
    coefficient (``need_p`` covers both p1 and p2); ``None`` where not needed.
    Deterministic (module docstring).
    """
    plan = _check(_plan(x, p1, p2, beta))
    if not isinstance(grad, Tensor) or grad.shape != x.shape:
        got = tuple(grad.shape) if isinstance(grad, Tensor) else type(grad).__name__
        raise ValueError(f'mmacon.ops.triton_acon: grad has shape {got}, x {tuple(x.shape)}')
    if grad.dtype not in _FLOATS or grad.device != x.device:
        raise ValueError(f'mmacon.ops.triton_acon: grad is {grad.dtype} on {grad.device}; '
                         f'x is on {x.device}')
    if not (need_x or need_p or need_beta):
        return None, None, None, None
    if not _same_strides(x.shape, grad.stride(), x.stride()):
        grad = torch.empty_strided(x.shape, x.stride(), dtype=grad.dtype,
                                   device=x.device).copy_(grad)
    # grad_x only where needed (else the kernel is handed x, and never writes it)
    gx = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device=x.device) \
        if need_x else None
    if x.numel() == 0:
        zeros = [torch.zeros(cf.shape, dtype=cf.data.dtype, device=x.device) if need else None
                 for cf, need in zip(plan.coefs, (need_p, need_p, need_beta))]
        return (gx, *zeros)  # type: ignore[return-value]
    plan = _Plan(plan.view, plan.O, plan.R, plan.I, plan.coefs,
                 plan.acc64 or grad.dtype == torch.float64)
    kernel, grid, args, const, parts = _backward_launch(plan, grad, x, x if gx is None else gx,
                                                        need_x, need_p, need_beta)
    with _device_ctx(x):
        kernel[grid](*args, **const, num_warps=_NUM_WARPS)
    grads = [None if part is None else _reduce(part, cf, plan.view)
             for part, cf in zip(parts, plan.coefs)]
    return (gx, *grads)  # type: ignore[return-value]
