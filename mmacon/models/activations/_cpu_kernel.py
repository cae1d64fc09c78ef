"""A small fused CPU kernel for ACON-C, built with the system C++ compiler on first use.

The kernel is plain C++ (no torch headers, so it builds in a second or two instead
of the ~minute a ``torch.utils.cpp_extension`` build takes on a small machine),
loaded with :mod:`ctypes` and run on tensors' data pointers. Forward and backward
each make one pass over memory:

- forward reads ``x`` and writes ``y``;
- backward reads ``x`` and ``grad_y``, writes ``grad_x`` and accumulates the
  reductions for the coefficients in the same pass (per-thread buffers, float64).

Layout: the input is seen as ``R`` rows of ``K`` contiguous elements. For NCHW
(contiguous) the rows are (n, c) and ``K = H * W``; for channels_last they are
(n, h, w) and ``K = C``. A coefficient (d = p1 - p2, p2, beta) is addressed as
``o1 * s1 + o2 * s2 + k * sk`` with ``(o1, o2) = divmod(row, O2)``; ``sk`` is 0
(constant along the row) or 1 (contiguous along the row), chosen at compile time.

The shared library is cached under ``$MMACON_CACHE_DIR`` (default
``~/.cache/mmacon``), keyed by the source, flags, compiler and CPU, so the build
is paid once per machine. Any failure (no compiler, build error, unsupported
platform) makes :func:`available` return False and callers fall back.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from typing import NamedTuple

import torch
from torch import Tensor

_SOURCE = r'''
#include <cstdint>
#include <cstring>
#include <cmath>
#include <omp.h>

typedef int64_t i64;

// exp for float that the compiler can vectorise: Cephes-style range reduction
// exp(x) = 2^n * exp(r), |r| <= ln2 / 2, degree-6 polynomial (rel. error ~1e-7).
static inline float vexpf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    std::memcpy(&scale, &e, sizeof(scale));
    return p * scale;
}
static inline double vexp(double x) { return std::exp(x); }
static inline float ex(float x) { return vexpf(x); }
static inline double ex(double x) { return vexp(x); }

template <typename T>
static inline T sigm(T t) { return T(1) / (T(1) + ex(-t)); }

struct Geo {
    i64 rows, K, O2;
    i64 s1[3], s2[3];  // per coefficient (d, p2, beta): strides of o1, o2
};

// One row of K contiguous elements. A coefficient is either constant along the row
// (V* = false: NCHW with per-channel or per-(n, c) coefficients, the common case)
// or contiguous along it (V* = true: channels_last, or a per-pixel beta). The row
// functions are kept out of line: inlined into the row walkers below, GCC
// schedules their vector loop about 1.7x slower.
template <typename T, bool VD, bool VP, bool VB>
__attribute__((noinline)) static void fwd_row(const T* __restrict x, T* __restrict y, i64 K,
                                              const T* __restrict d, const T* __restrict p2,
                                              const T* __restrict b) {
    const T d0 = d[0], p0 = p2[0], b0 = b[0];
#pragma omp simd
    for (i64 k = 0; k < K; ++k) {
        const T dv = VD ? d[k] : d0, pv = VP ? p2[k] : p0, bv = VB ? b[k] : b0;
        const T xv = x[k];
        y[k] = xv * (dv * sigm(bv * dv * xv) + pv);
    }
}

// Backward of one row: writes grad_x (if WGX) and adds the row's contributions to
// the coefficients' float64 buffers gd, gp, gb (this thread's, compact layout).
template <typename T, bool WGX, bool VD, bool VP, bool VB>
__attribute__((noinline)) static void bwd_row(const T* __restrict go, const T* __restrict x,
                                              T* __restrict gx, i64 K, const T* __restrict d,
                                              const T* __restrict p2, const T* __restrict b,
                                              double* __restrict gd, double* __restrict gp,
                                              double* __restrict gb) {
    const T d0 = d[0], p0 = p2[0], b0 = b[0];
    T sd = 0, sp = 0, sb = 0;  // row sums for coefficients constant along the row
#pragma omp simd reduction(+:sd, sp, sb)
    for (i64 k = 0; k < K; ++k) {
        const T dv = VD ? d[k] : d0, pv = VP ? p2[k] : p0, bv = VB ? b[k] : b0;
        const T xv = x[k], gov = go[k];
        const T u = dv * xv;
        const T t = bv * u;
        const T s = sigm(t);
        const T ds = s * (T(1) - s);           // sigmoid'(t)
        const T gg = s + t * ds;               // d(u * s)/du
        if (WGX) gx[k] = gov * (dv * gg + pv);
        const T gox = gov * xv;
        const T vd = gox * gg, vb = gov * u * u * ds;
        if (VD) { gd[k] += vd; gp[k] += gox; } else { sd += vd; sp += gox; }
        if (VB) { gb[k] += vb; } else { sb += vb; }
    }
    if (!VD) { gd[0] += sd; gp[0] += sp; }
    if (!VB) gb[0] += sb;
}

template <typename T, bool VD, bool VP, bool VB>
static void fwd_rows(const T* __restrict x, T* __restrict y, const T* __restrict d,
                     const T* __restrict p2, const T* __restrict b, const Geo& g,
                     i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
        const i64 o1 = r / g.O2, o2 = r % g.O2;
        fwd_row<T, VD, VP, VB>(x + r * g.K, y + r * g.K, g.K,
                               d + o1 * g.s1[0] + o2 * g.s2[0],
                               p2 + o1 * g.s1[1] + o2 * g.s2[1],
                               b + o1 * g.s1[2] + o2 * g.s2[2]);
    }
}

template <typename T, bool WGX, bool VD, bool VP, bool VB>
static void bwd_rows(const T* __restrict go, const T* __restrict x, T* __restrict gx,
                     const T* __restrict d, const T* __restrict p2, const T* __restrict b,
                     double* __restrict gd, double* __restrict gp, double* __restrict gb,
                     const Geo& g, i64 r0, i64 r1) {
    for (i64 r = r0; r < r1; ++r) {
        const i64 o1 = r / g.O2, o2 = r % g.O2;
        const i64 od = o1 * g.s1[0] + o2 * g.s2[0];
        const i64 op = o1 * g.s1[1] + o2 * g.s2[1];
        const i64 ob = o1 * g.s1[2] + o2 * g.s2[2];
        bwd_row<T, WGX, VD, VP, VB>(go + r * g.K, x + r * g.K, WGX ? gx + r * g.K : nullptr,
                                    g.K, d + od, p2 + op, b + ob, gd + od, gp + op, gb + ob);
    }
}

template <typename T>
static void split(i64 rows, int nt, int tid, i64* r0, i64* r1) {
    const i64 q = rows / nt, rem = rows % nt;
    *r0 = tid * q + (tid < rem ? tid : rem);
    *r1 = *r0 + q + (tid < rem ? 1 : 0);
}

#define DISPATCH(VDv, VPv, VBv, CALL) \
    if (vd == VDv && vp == VPv && vb == VBv) { CALL(VDv, VPv, VBv); return 0; }
#define ALL8(CALL) \
    DISPATCH(0, 0, 0, CALL) DISPATCH(0, 0, 1, CALL) DISPATCH(0, 1, 0, CALL) DISPATCH(0, 1, 1, CALL) \
    DISPATCH(1, 0, 0, CALL) DISPATCH(1, 0, 1, CALL) DISPATCH(1, 1, 0, CALL) DISPATCH(1, 1, 1, CALL)

template <typename T>
static int fwd(const T* x, T* y, const T* d, const T* p2, const T* b, const i64* geo,
               int nthreads) {
    Geo g;
    g.rows = geo[0]; g.K = geo[1]; g.O2 = geo[2];
    for (int i = 0; i < 3; ++i) { g.s1[i] = geo[3 + 3 * i]; g.s2[i] = geo[4 + 3 * i]; }
    const bool vd = geo[5] != 0, vp = geo[8] != 0, vb = geo[11] != 0;
#define FWD(A, B, C) fwd_rows<T, A, B, C>(x, y, d, p2, b, g, r0, r1)
    if (nthreads <= 1) {  // small inputs: no parallel region (its wake-up costs more)
        const i64 r0 = 0, r1 = g.rows;
        [&]() -> int { ALL8(FWD) return 1; }();
        return 0;
    }
#pragma omp parallel num_threads(nthreads)
    {
        i64 r0, r1;
        split<T>(g.rows, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
        [&]() -> int { ALL8(FWD) return 1; }();
    }
#undef FWD
    return 0;
}

template <typename T>
static int bwd(const T* go, const T* x, T* gx, const T* d, const T* p2, const T* b,
               double* gd, double* gp, double* gb, const i64* geo, i64 stride,
               int nthreads) {
    Geo g;
    g.rows = geo[0]; g.K = geo[1]; g.O2 = geo[2];
    for (int i = 0; i < 3; ++i) { g.s1[i] = geo[3 + 3 * i]; g.s2[i] = geo[4 + 3 * i]; }
    const bool vd = geo[5] != 0, vp = geo[8] != 0, vb = geo[11] != 0;
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        const int tid = omp_get_thread_num();
        i64 r0, r1;
        split<T>(g.rows, omp_get_num_threads(), tid, &r0, &r1);
        double* tgd = gd + tid * stride;  // stride: one thread's buffers, in doubles
        double* tgp = gp + tid * stride;
        double* tgb = gb + tid * stride;
#define BWD(A, B, C) \
    if (gx) bwd_rows<T, true, A, B, C>(go, x, gx, d, p2, b, tgd, tgp, tgb, g, r0, r1); \
    else bwd_rows<T, false, A, B, C>(go, x, gx, d, p2, b, tgd, tgp, tgb, g, r0, r1)
        [&]() -> int { ALL8(BWD) return 1; }();
#undef BWD
    }
    return 0;
}

extern "C" {
int acon_c_fwd_f32(const float* x, float* y, const float* d, const float* p2, const float* b,
                   const i64* geo, int nt) { return fwd<float>(x, y, d, p2, b, geo, nt); }
int acon_c_fwd_f64(const double* x, double* y, const double* d, const double* p2,
                   const double* b, const i64* geo, int nt) {
    return fwd<double>(x, y, d, p2, b, geo, nt); }
int acon_c_bwd_f32(const float* go, const float* x, float* gx, const float* d, const float* p2,
                   const float* b, double* gd, double* gp, double* gb, const i64* geo,
                   i64 stride, int nt) {
    return bwd<float>(go, x, gx, d, p2, b, gd, gp, gb, geo, stride, nt); }
int acon_c_bwd_f64(const double* go, const double* x, double* gx, const double* d,
                   const double* p2, const double* b, double* gd, double* gp, double* gb,
                   const i64* geo, i64 stride, int nt) {
    return bwd<double>(go, x, gx, d, p2, b, gd, gp, gb, geo, stride, nt); }
int acon_c_abi_version() { return 4; }
}
'''

_FLAGS = ['-O3', '-march=native', '-fopenmp', '-fPIC', '-shared', '-std=c++17',
          '-fno-math-errno', '-fno-trapping-math']

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_state: str = 'unbuilt'  # 'unbuilt' | 'ok' | 'failed'
_error: str = ''


def _compiler() -> str | None:
    for name in (os.environ.get('CXX'), 'g++', 'c++', 'clang++'):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_key(cxx: str) -> str:
    try:
        version = subprocess.run([cxx, '--version'], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[0]
    except Exception:  # noqa: BLE001 - any failure just changes the key
        version = cxx
    h = hashlib.sha256()
    for part in (_SOURCE, ' '.join(_FLAGS), version, platform.machine(), platform.processor(),
                 _cpu_model()):
        h.update(part.encode())
    return h.hexdigest()[:16]


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(('model name', 'flags')):
                    return line
    except OSError:
        pass
    return ''


def cache_dir() -> str:
    return os.environ.get('MMACON_CACHE_DIR',
                          os.path.join(os.path.expanduser('~'), '.cache', 'mmacon'))


def library_path() -> str | None:
    """Path of the cached shared library for this machine, or None without a compiler."""
    cxx = _compiler()
    if cxx is None:
        return None
    return os.path.join(cache_dir(), f'acon_c_cpu_{_cache_key(cxx)}.so')


def is_built() -> bool:
    """True when the shared library is already cached on disk (no build needed)."""
    path = library_path()
    return path is not None and os.path.exists(path)


def _build(path: str, cxx: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
        src = os.path.join(tmp, 'acon_c_cpu.cpp')
        out = os.path.join(tmp, 'acon_c_cpu.so')
        with open(src, 'w') as f:
            f.write(_SOURCE)
        proc = subprocess.run([cxx, *_FLAGS, src, '-o', out], capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f'{cxx} failed:\n{proc.stderr[-2000:]}')
        os.replace(out, path)  # atomic: concurrent builders race harmlessly


def load(build: bool = True) -> ctypes.CDLL | None:
    """Load (building if needed and ``build``) the kernel library; None when unavailable."""
    global _lib, _state, _error
    if _state == 'ok':
        return _lib
    if _state == 'failed':
        return None
    with _lock:
        if _state != 'unbuilt':
            return _lib
        if os.environ.get('MMACON_DISABLE_CPU_KERNEL', '0') not in ('', '0'):
            _state, _error = 'failed', 'disabled by MMACON_DISABLE_CPU_KERNEL'
            return None
        cxx = _compiler()
        if cxx is None or platform.system() == 'Windows':
            _state, _error = 'failed', 'no C++ compiler found'
            return None
        path = library_path()
        assert path is not None
        try:
            if not os.path.exists(path):
                if not build:
                    return None
                _build(path, cxx)
            lib = ctypes.CDLL(path)
            if lib.acon_c_abi_version() != 4:
                raise RuntimeError('stale kernel library')
            _declare(lib)
        except Exception as e:  # noqa: BLE001 - fall back, say why once
            _state, _error = 'failed', f'{type(e).__name__}: {e}'
            warnings.warn(f'mmacon: fused ACON-C CPU kernel unavailable ({_error}); '
                          'falling back to the autograd.Function in PyTorch ops.')
            return None
        _lib, _state = lib, 'ok'
        return lib


def available(build: bool = True) -> bool:
    return load(build=build) is not None


def _declare(lib: ctypes.CDLL) -> None:
    p, i = ctypes.c_void_p, ctypes.c_int
    for suffix in ('f32', 'f64'):
        fwd = getattr(lib, f'acon_c_fwd_{suffix}')
        fwd.argtypes = [p, p, p, p, p, p, i]
        fwd.restype = i
        bwd = getattr(lib, f'acon_c_bwd_{suffix}')
        bwd.argtypes = [p, p, p, p, p, p, p, p, p, p, ctypes.c_int64, i]
        bwd.restype = i


# ---------------------------------------------------------------- tensor plumbing

_SUFFIX = {torch.float32: 'f32', torch.float64: 'f64'}


def _layout(x: Tensor) -> str | None:
    """'nchw' for contiguous, 'nhwc' for 4-D channels_last, None otherwise."""
    if x.is_contiguous():
        return 'nchw'
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return 'nhwc'
    return None


def _compact(coef: Tensor, x: Tensor) -> tuple[Tensor, tuple[int, int, int]] | None:
    """View ``coef`` (broadcastable to x) as a contiguous (cN, cC, cS) tensor, or None."""
    shape = (1,) * (x.dim() - coef.dim()) + tuple(coef.shape)
    n, c = shape[0], shape[1]
    spatial = shape[2:]
    if n not in (1, x.size(0)) or c not in (1, x.size(1)):
        return None
    s = 1
    for v in spatial:
        s *= v
    if s != 1 and tuple(spatial) != tuple(x.shape[2:]):
        return None  # partly broadcast spatial coefficient: not handled here
    if coef.dtype != x.dtype:
        coef = coef.to(x.dtype)
    return coef.reshape(n, c, s).contiguous(), (n, c, s)


def supports(x: Tensor, *coefs: Tensor) -> bool:
    """Cheap structural check (no build): CPU, float32/64, dense layout, usable coefficients."""
    if x.device.type != 'cpu' or x.dtype not in _SUFFIX or x.dim() < 2 or x.numel() == 0:
        return False
    if _layout(x) is None:
        return False
    for c in coefs:
        if c.device.type != 'cpu' or c.dtype not in _SUFFIX:
            return False
        if c.dim() > x.dim():
            return False
    return True


def _geometry(x: Tensor, layout: str, metas: list[tuple[int, int, int]]) -> ctypes.Array:
    n, c = x.size(0), x.size(1)
    s = x.numel() // max(n * c, 1)
    geo: list[int] = [n * c, s, c] if layout == 'nchw' else [n * s, c, s]
    for (cn, cc, cs) in metas:
        sn = cc * cs if cn > 1 else 0
        sc = cs if cc > 1 else 0
        ss = 1 if cs > 1 else 0
        geo += [sn, sc, ss] if layout == 'nchw' else [sn, ss, sc]
    return (ctypes.c_int64 * len(geo))(*geo)


class Plan(NamedTuple):
    """What both passes need, computed once per forward (kept on the autograd ctx)."""
    layout: str
    d_shape: torch.Size   # p1 - p2, broadcast shape
    d: Tensor             # compact (cN, cC, cS) coefficients, x's dtype
    p2: Tensor
    beta: Tensor
    n_d: int              # elements of the compact d / p2 buffers
    n_beta: int
    geo: ctypes.Array


def make_plan(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Plan | None:
    """The kernel's view of this call, or None when the pattern is not handled."""
    layout = _layout(x)
    if layout is None:
        return None
    with torch.no_grad():
        d = p1 - p2
        p2e = p2.expand_as(d) if p2.shape != d.shape else p2
        cd, cp, cb = _compact(d, x), _compact(p2e, x), _compact(beta, x)
    if cd is None or cp is None or cb is None:
        return None
    (md, mb) = cd[1], cb[1]
    return Plan(layout, d.shape, cd[0], cp[0], cb[0], md[0] * md[1] * md[2],
                mb[0] * mb[1] * mb[2], _geometry(x, layout, [md, cp[1], mb]))


_PARALLEL_MIN = 1 << 15  # elements; below this one thread is faster than waking a pool


def _threads(x: Tensor) -> int:
    return torch.get_num_threads() if x.numel() >= _PARALLEL_MIN else 1


def _library_and_plan(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor, plan: Plan | None
                      ) -> tuple[ctypes.CDLL | None, Plan | None]:
    """The loaded kernel library and this call's plan; the plan is None when either is missing."""
    lib = load()
    if lib is None:
        return None, None
    return lib, plan or make_plan(x, p1, p2, beta)


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
            plan: Plan | None = None) -> Tensor | None:
    """Fused forward; None when this input/coefficient pattern is not handled."""
    lib, plan = _library_and_plan(x, p1, p2, beta, plan)
    if plan is None:
        return None
    y = torch.empty_like(x)
    fn = getattr(lib, f'acon_c_fwd_{_SUFFIX[x.dtype]}')
    fn(x.data_ptr(), y.data_ptr(), plan.d.data_ptr(), plan.p2.data_ptr(), plan.beta.data_ptr(),
       ctypes.addressof(plan.geo), _threads(x))
    return y


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool, need_p: bool, need_beta: bool, plan: Plan | None = None
             ) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None] | None:
    """Fused backward: (grad_x, grad_p1, grad_p2, grad_beta) each shaped like its input.

    Returns None when this pattern is not handled (the caller falls back).
    """
    lib, plan = _library_and_plan(x, p1, p2, beta, plan)
    if plan is None:
        return None
    if grad.dtype != x.dtype or _layout(grad) != plan.layout:
        grad = grad.to(dtype=x.dtype).contiguous(
            memory_format=torch.channels_last if plan.layout == 'nhwc' else torch.contiguous_format)
    nt = _threads(x)
    gx = torch.empty_like(x) if need_x else None
    nd, nb = plan.n_d, plan.n_beta
    acc = torch.zeros(nt, 2 * nd + nb, dtype=torch.float64)  # per thread: [gd | gp | gbeta]
    base, step = acc.data_ptr(), acc.element_size()
    fn = getattr(lib, f'acon_c_bwd_{_SUFFIX[x.dtype]}')
    fn(grad.data_ptr(), x.data_ptr(), None if gx is None else gx.data_ptr(), plan.d.data_ptr(),
       plan.p2.data_ptr(), plan.beta.data_ptr(), base, base + nd * step, base + 2 * nd * step,
       ctypes.addressof(plan.geo), acc.size(1), nt)
    total = acc[0] if nt == 1 else acc.sum(0)
    g1 = g2 = g3 = None
    if need_p:
        gd = _reshape_like(total[:nd], plan.d_shape, x)
        gp = _reshape_like(total[nd:2 * nd], plan.d_shape, x)
        g1 = _reduce_to(gd, p1)
        g2 = _reduce_to(gp - gd, p2)
    if need_beta:
        g3 = _reduce_to(_reshape_like(total[2 * nd:], beta.shape, x), beta)
    return gx, g1, g2, g3


def _reshape_like(flat: Tensor, shape: torch.Size, x: Tensor) -> Tensor:
    """View a compact buffer as ``shape`` (left-padded with 1s to x.dim())."""
    return flat.view((1,) * (x.dim() - len(shape)) + tuple(shape))


def _reduce_to(g: Tensor, like: Tensor) -> Tensor:
    """Sum ``g`` down to ``like``'s shape and cast it to ``like``'s dtype."""
    if g.shape != like.shape:
        g = g.sum_to_size(like.shape)
    return g if g.dtype == like.dtype else g.to(like.dtype)
