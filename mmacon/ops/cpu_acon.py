"""The fused CPU backend (``impl='cpp'``): builds ``acon_c_cpu.cpp`` and runs it with ctypes.

The same library holds ``meta_acon_cpu.cpp``, Meta-ACON's fused channel-wise generator
(:mod:`.cpu_meta_acon`); :func:`library` hands it over.

The kernel is plain C++ (no torch headers, so it builds in a second or two where a
``torch.utils.cpp_extension`` build takes about a minute on a small machine). Forward
reads ``x`` and writes ``y``; backward reads ``x`` and ``grad``, writes ``grad_x`` and
reduces the coefficients' gradients in the same pass (per-thread float64 buffers).

Handles float32/float64 CPU tensors, contiguous or 4-D channels_last, with
coefficients of ``x``'s dtype whose dims are each 1 or ``x``'s size (spatial dims all 1
or all full). :func:`supports` says why any other call is not handled.

The shared library is cached under ``$MMACON_CACHE_DIR`` (default ``~/.cache/mmacon``)
under a name hashed from the sources, flags, compiler and CPU, so a changed source never
loads a stale build. ``MMACON_DISABLE_CPU_KERNEL=1`` turns the backend off.
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
from typing import Optional, Tuple

import torch
from torch import Tensor

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(_HERE, 'acon_c_cpu.cpp')
SOURCES = (SOURCE, os.path.join(_HERE, 'meta_acon_cpu.cpp'))  # built into one library
# included by both sources; part of the cache key
HEADERS = (os.path.join(_HERE, 'flush_denormals.h'), os.path.join(_HERE, 'split_rows.h'))
# -mprefer-vector-width=512: where -march=native has AVX-512, GCC still prefers 256-bit
# vectors; 512 made the backward 17-20 % faster here (A/B of both builds in one process).
FLAGS = ('-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-fPIC', '-shared',
         '-std=c++17', '-fno-math-errno', '-fno-trapping-math')
_SUFFIX = {torch.float32: 'f32', torch.float64: 'f64'}
_PARALLEL_MIN = 1 << 15  # elements; below this one thread is faster than waking a pool

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_why_not: Optional[str] = None  # set once loading failed
_loaded = False


# ---------------------------------------------------------------- build and load

def _compiler() -> Optional[str]:
    for name in (os.environ.get('CXX'), 'g++', 'c++', 'clang++'):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


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


def library_path(cxx: str, source: bytes) -> str:
    """Where the library built from ``source`` by ``cxx`` is cached on this machine."""
    try:
        version = subprocess.run([cxx, '--version'], capture_output=True, text=True,
                                 timeout=30).stdout.splitlines()[0]
    except Exception:  # noqa: BLE001 - any failure just changes the key
        version = cxx
    h = hashlib.sha256(source)
    for part in (' '.join(FLAGS), version, platform.machine(), _cpu_model()):
        h.update(part.encode())
    return os.path.join(cache_dir(), f'acon_c_cpu_{h.hexdigest()[:16]}.so')


def _build(path: str, cxx: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
        out = os.path.join(tmp, 'acon_c_cpu.so')
        proc = subprocess.run([cxx, *FLAGS, *SOURCES, '-o', out], capture_output=True,
                              text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f'{cxx} failed:\n{proc.stderr[-2000:]}')
        os.replace(out, path)  # atomic: concurrent builders race harmlessly


def _declare(lib: ctypes.CDLL) -> None:
    p, i = ctypes.c_void_p, ctypes.c_int
    for suffix in _SUFFIX.values():
        fwd = getattr(lib, f'acon_c_fwd_{suffix}')
        fwd.argtypes, fwd.restype = [p] * 6 + [i], None
        bwd = getattr(lib, f'acon_c_bwd_{suffix}')
        bwd.argtypes, bwd.restype = [p] * 11 + [i], None
        for name, args in (('meta_acon_fwd', [p] * 5 + [i]), ('meta_acon_bwd', [p] * 7 + [i])):
            fn = getattr(lib, f'{name}_{suffix}')
            fn.argtypes, fn.restype = args, None


def _load() -> Optional[str]:
    """Build (once per machine) and load the library; the reason when it cannot be."""
    global _lib
    if os.environ.get('MMACON_DISABLE_CPU_KERNEL', '0') not in ('', '0'):
        return 'disabled by MMACON_DISABLE_CPU_KERNEL'
    cxx = _compiler()
    if cxx is None or platform.system() == 'Windows':
        return 'no C++ compiler found (set CXX, or install g++)'
    try:
        source = b''
        for name in SOURCES + HEADERS:
            with open(name, 'rb') as f:
                source += f.read()
        path = library_path(cxx, source)
        if not os.path.exists(path):
            _build(path, cxx)
        lib = ctypes.CDLL(path)
        _declare(lib)
    except Exception as e:  # noqa: BLE001 - fall back, say why once
        return f'{type(e).__name__}: {e}'
    _lib = lib
    return None


def available() -> Optional[str]:
    """None when the kernel library is loaded (building it on first use), else why not."""
    global _loaded, _why_not
    if not _loaded:
        with _lock:
            if not _loaded:
                _why_not = _load()
                _loaded = True
                if _why_not is not None:
                    warnings.warn(f'mmacon: the fused ACON-C CPU kernel is unavailable '
                                  f'({_why_not}); ACON-C runs in PyTorch ops instead.')
    return _why_not


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
        return f'x is {x.dtype}, the kernel takes float32 or float64'
    if x.dim() < 2 or x.numel() == 0:
        return f'x of shape {tuple(x.shape)} is not a non-empty (N, C, *) tensor'
    for name, t in (('p1', p1), ('p2', p2), ('beta', beta)):
        if t.device.type != 'cpu' or t.dtype != x.dtype:
            return f'{name} is {t.dtype} on {t.device}, x is {x.dtype} on {x.device}'
        if t.dim() > x.dim():
            return f'{name} has more dims than x'
    geo = _geometry(x, p1, p2, beta)
    return geo if isinstance(geo, str) else None


def library() -> ctypes.CDLL:
    """The loaded kernel library (built on first use); RuntimeError naming why if it cannot be."""
    if _lib is None and available() is not None:
        raise RuntimeError(f'mmacon: the fused ACON-C CPU kernel is unavailable: {_why_not}')
    return _lib


def grad_like(grad: Tensor, x: Tensor) -> Tensor:
    """``grad`` in x's dtype and memory format (e.g. the stride-0 gradient of a sum())."""
    if grad.dtype != x.dtype:
        grad = grad.to(x.dtype)
    fmt = torch.contiguous_format if x.is_contiguous() else torch.channels_last
    return grad.contiguous(memory_format=fmt)


def _threads(x: Tensor) -> int:
    return torch.get_num_threads() if x.numel() >= _PARALLEL_MIN else 1


def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """ACON-C of a call :func:`supports` accepts; y has x's dtype and memory format."""
    geo, _ = _geometry(x, p1, p2, beta)
    p1, p2, beta = p1.contiguous(), p2.contiguous(), beta.contiguous()
    y = torch.empty_like(x)
    lib = library()
    fn = lib.acon_c_fwd_f32 if x.dtype == torch.float32 else lib.acon_c_fwd_f64
    fn(x.data_ptr(), y.data_ptr(), p1.data_ptr(), p2.data_ptr(), beta.data_ptr(), geo,
       _threads(x))
    return y


def backward(grad: Tensor, x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor,
             need_x: bool = True, need_p: bool = True, need_beta: bool = True
             ) -> Tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], Optional[Tensor]]:
    """(grad_x, grad_p1, grad_p2, grad_beta), each like its input, None where not needed.

    One pass computes all of them; the flags only skip writing grad_x and returning.
    """
    geo, sizes = _geometry(x, p1, p2, beta)
    grad = grad_like(grad, x)
    p1, p2, beta = p1.contiguous(), p2.contiguous(), beta.contiguous()
    gx = torch.empty_like(x) if need_x else None
    g1, g2, gb = torch.empty_like(p1), torch.empty_like(p2), torch.empty_like(beta)
    lib = library()
    fn = lib.acon_c_bwd_f32 if x.dtype == torch.float32 else lib.acon_c_bwd_f64
    fn(grad.data_ptr(), x.data_ptr(), None if gx is None else gx.data_ptr(), p1.data_ptr(),
       p2.data_ptr(), beta.data_ptr(), g1.data_ptr(), g2.data_ptr(), gb.data_ptr(), geo, sizes,
       _threads(x))
    return gx, g1 if need_p else None, g2 if need_p else None, gb if need_beta else None

