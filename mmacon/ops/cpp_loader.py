"""Build, cache and load the C++ CPU kernels beside this file (one shared library).

The sources (``acon_c_cpu.cpp``: ACON-C; ``meta_acon_cpu.cpp``: Meta-ACON's fused
generator; the headers they include) are plain C++ without torch headers, so the
library builds in a few seconds where a ``torch.utils.cpp_extension`` build takes about
a minute on a small machine; the backends (:mod:`.cpu_acon`, :mod:`.cpu_meta_acon`) call
it through ctypes.

The library is cached under ``$MMACON_CACHE_DIR`` (default ``~/.cache/mmacon``) under a
name hashed from the sources, flags, compiler and CPU, so a changed source never loads a
stale build. ``MMACON_DISABLE_CPU_KERNEL=1`` turns the C++ backends off.
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
from typing import Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(_HERE, 'acon_c_cpu.cpp')
SOURCES = (SOURCE, os.path.join(_HERE, 'meta_acon_cpu.cpp'))  # built into one library
# included by the sources; part of the cache key
HEADERS = tuple(os.path.join(_HERE, h) for h in ('flush_denormals.h', 'split_rows.h',
                                                 'half_types.h'))
# -mprefer-vector-width=512: where -march=native has AVX-512, GCC still prefers 256-bit
# vectors; 512 made the backward 17-20 % faster here (A/B of both builds in one process).
FLAGS = ('-O3', '-march=native', '-mprefer-vector-width=512', '-fopenmp', '-fPIC', '-shared',
         '-std=c++17', '-fno-math-errno', '-fno-trapping-math')
# the storage types of x the kernels take, by symbol suffix
SUFFIXES = ('f32', 'f64', 'bf16', 'f16')

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_why_not: Optional[str] = None  # set once loading failed
_loaded = False


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
    for suffix in SUFFIXES:
        for name, args in (('acon_c_fwd', [p] * 6 + [i]), ('acon_c_bwd', [p] * 11 + [i]),
                           ('meta_acon_fwd', [p] * 5 + [i]), ('meta_acon_bwd', [p] * 7 + [i])):
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
                    warnings.warn(f'mmacon: the C++ CPU kernels are unavailable ({_why_not}); '
                                  'ACON-C runs in PyTorch ops instead.')
    return _why_not


def library() -> ctypes.CDLL:
    """The loaded kernel library (built on first use); RuntimeError naming why if it cannot be."""
    if _lib is None and available() is not None:
        raise RuntimeError(f'mmacon: the C++ CPU kernels are unavailable: {_why_not}')
    return _lib
