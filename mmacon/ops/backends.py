"""The backend table: every way to compute ACON-C, and Meta-ACON's fused nodes, by name.

Each backend is one :class:`Backend`: its ``name``, the ``devices`` and ``dtypes`` of
``x`` it takes, and :meth:`Backend.refuse`, which returns why it does not take a call
(None when it does). The choice among them is made in one place,
:func:`mmacon.ops.dispatch.choose`, which walks these tables:

- :data:`ACON_C` (kind ``'acon_c'``): ``'reference'`` (the plain formula through
  autograd), ``'eager'`` (PyTorch ops), ``'cpp'`` (fused C++ CPU kernel), ``'triton'``.
  The valid ``impl`` names are ``'auto'`` and this table's keys.
- :data:`META_ACON_FUSED` (kind ``'meta_acon_fused'``): Meta-ACON's channel-wise
  generator, spatial mean and ACON-C as one autograd node, keyed by the ``impl`` it
  belongs to (``'cpp'``: :mod:`.cpu_meta_acon`; ``'triton'``: :mod:`.triton_meta_acon`), each
  offering ``available()``, ``supports(x, p1, p2, fc1, bn1, fc2, bn2)`` and
  ``meta_acon_c(x, p1, p2, fc1, bn1, fc2, bn2, running)``.
- :data:`AUTO`: per kind, the priority list of ``impl='auto'`` for each device type
  (``'*'``: any other device). ``'auto'`` takes the first that does not refuse.

An ACON-C backend module offers ``available() -> str | None`` (the machine: library
built, Triton importable), ``supports(x, p1, p2, beta) -> str | None`` (this call:
layout, coefficient shapes), ``forward(x, p1, p2, beta)`` (output in x's dtype) and
``backward(grad, x, p1, p2, beta, need_x, need_p, need_beta) -> (gx, gp1, gp2, gbeta)``.

``'compiled'`` (the eager halves under ``torch.compile``) is not an entry: ``'auto'``
would never pick it (on CPU the C++ kernel is faster and needs the same compiler; on CUDA
the Triton kernels are what Inductor would generate, and both need Triton), so it is a
baseline row of ``benchmarks/bench_activations.py`` instead. Under
``torch.compile(model)`` every impl is the custom op ``mmacon::acon_c``.
"""
from __future__ import annotations

import importlib.util
from types import SimpleNamespace
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from . import cpu_acon, cpu_meta_acon, eager_acon
from .reference import acon_c_reference

FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Backend:
    """One row of a table: ``name``, ``devices`` (device types; empty: any), ``dtypes``
    (of ``x``; empty: any) and ``module``, which computes and says what it refuses."""

    def __init__(self, name: str, devices: Tuple[str, ...], dtypes: Tuple[torch.dtype, ...],
                 module, about: str) -> None:
        self.name, self.devices, self.dtypes, self.module = name, devices, dtypes, module
        self.about = about

    def available(self) -> Optional[str]:
        """None if this backend can run in this process at all, else why not."""
        return self.module.available()

    def refuse(self, x: Tensor, *args) -> Optional[str]:
        """Why this backend does not take the call ``(x, *args)``; None when it does."""
        if self.devices and x.device.type not in self.devices:
            return f"x is on {x.device}; '{self.name}' runs on {', '.join(self.devices)}"
        if self.dtypes and x.dtype not in self.dtypes:
            names = ', '.join(str(d).replace('torch.', '') for d in self.dtypes)
            return f"x is {x.dtype}; '{self.name}' takes {names}"
        why = self.available()
        return self.module.supports(x, *args) if why is None else why

    def __getattr__(self, name: str):  # forward, backward, meta_acon_c: the module's
        if name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.module, name)

    def __repr__(self) -> str:
        return f'Backend({self.name!r}, devices={self.devices}, {self.about})'


def _runs(*args) -> None:
    return None


def _reference_forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
    """The plain formula in x's dtype (the output-dtype policy of :mod:`.dispatch`)."""
    y = acon_c_reference(x, p1, p2, beta)
    return y if y.dtype == x.dtype else y.to(x.dtype)


reference_acon = SimpleNamespace(available=_runs, supports=_runs, forward=_reference_forward)


def _unavailable(why: str) -> SimpleNamespace:
    return SimpleNamespace(available=lambda: why, supports=lambda *a: why)


if importlib.util.find_spec(f'{__package__}.triton_acon') is None:
    triton_acon = _unavailable('mmacon/ops/triton_acon.py is not part of this install')
else:
    try:
        from . import triton_acon  # its available() says what is missing (CUDA, Triton)
    except ImportError as e:
        triton_acon = _unavailable(f'mmacon.ops.triton_acon failed to import: {e}')
try:
    from . import triton_meta_acon  # its available() says what is missing (CUDA, Triton)
except ImportError as e:
    triton_meta_acon = _unavailable(f'mmacon.ops.triton_meta_acon failed to import: {e}')


class _Triton:
    """triton_acon looked up at each call (tests patch its functions); output in x's dtype."""

    @staticmethod
    def available() -> Optional[str]:
        return triton_acon.available()

    @staticmethod
    def supports(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Optional[str]:
        return triton_acon.supports(x, p1, p2, beta)

    @staticmethod
    def forward(x: Tensor, p1: Tensor, p2: Tensor, beta: Tensor) -> Tensor:
        return triton_acon.forward(x, p1, p2, beta, out_dtype=x.dtype)

    @staticmethod
    def backward(*args):
        return triton_acon.backward(*args)


ACON_C: Dict[str, Backend] = {
    'reference': Backend('reference', (), (), reference_acon,
                         'the plain formula through autograd (3 inputs saved)'),
    'eager': Backend('eager', (), FLOATS, eager_acon, 'the lean Function in PyTorch ops'),
    'cpp': Backend('cpp', ('cpu',), FLOATS, cpu_acon, 'the fused one-pass C++ CPU kernel'),
    # on CPU only under TRITON_INTERPRET=1 (triton_acon.available says so)
    'triton': Backend('triton', ('cuda', 'cpu'), FLOATS, _Triton, 'the Triton kernels'),
}

META_ACON_FUSED: Dict[str, Backend] = {
    'cpp': Backend('cpp', ('cpu',), FLOATS, cpu_meta_acon,
                   "Meta-ACON's mean, generator and ACON-C as one C++ CPU node"),
    # on CPU only under TRITON_INTERPRET=1 (triton_meta_acon.supports says so)
    'triton': Backend('triton', ('cuda', 'cpu'), FLOATS, triton_meta_acon,
                      "Meta-ACON's mean and ACON-C in Triton, the generator in ATen, one node"),
}

TABLES: Dict[str, Dict[str, Backend]] = {'acon_c': ACON_C, 'meta_acon_fused': META_ACON_FUSED}

AUTO: Dict[str, Dict[str, Tuple[str, ...]]] = {
    'acon_c': {'cpu': ('cpp', 'eager'), 'cuda': ('triton', 'eager'), '*': ('eager',)},
    'meta_acon_fused': {'cpu': ('cpp',), 'cuda': ('triton',), '*': ()},
}

# What 'auto' falls back on is several times slower than its first choice (e.g. 'eager'
# takes 3-14x the C++ kernel's time on CPU); the fix to name when it has to.
FIXES: Dict[Tuple[str, str], str] = {
    ('acon_c', 'cpp'): ('pass x contiguous or channels_last, with coefficients of shape '
                        '(1, C, 1, 1) or (N, C, 1, 1) in x\'s dtype (float32 for float16/'
                        'bfloat16 x), or install a C++ compiler (g++; or set CXX)'),
    ('acon_c', 'triton'): ('install Triton (it ships with the CUDA torch wheels) and pass x '
                           'contiguous or channels_last'),
}

BACKENDS = ACON_C  # the ACON-C table under its former name
__all__ = ['Backend', 'ACON_C', 'META_ACON_FUSED', 'TABLES', 'AUTO', 'FIXES', 'BACKENDS']
