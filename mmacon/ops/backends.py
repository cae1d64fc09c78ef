"""The ACON-C backends by ``impl`` name; each module has the same four functions:

``available() -> str | None`` (None if usable, else why not), ``supports(x, p1, p2,
beta) -> str | None`` (None if this call can run, else why not), ``forward(x, p1, p2,
beta)`` (output in x's dtype) and ``backward(grad, x, p1, p2, beta, need_x, need_p,
need_beta) -> (gx, gp1, gp2, gbeta)``.
"""
from __future__ import annotations

from types import SimpleNamespace

from . import compiled_acon, cpu_acon, eager_acon

try:
    from . import triton_acon
except ImportError as e:  # the Triton kernels' module failed to import
    _why = f'mmacon.ops.triton_acon failed to import ({e})'
    triton_acon = SimpleNamespace(available=lambda: _why, supports=lambda *a: _why)



def _triton_forward(x, p1, p2, beta):
    return triton_acon.forward(x, p1, p2, beta, out_dtype=x.dtype)  # the output-dtype policy


# looked up at each call, so that tests may patch triton_acon's functions
triton_backend = SimpleNamespace(
    available=lambda: triton_acon.available(),
    supports=lambda x, p1, p2, beta: triton_acon.supports(x, p1, p2, beta),
    forward=_triton_forward,
    backward=lambda *args: triton_acon.backward(*args))

BACKENDS = {'eager': eager_acon, 'cpp': cpu_acon, 'compiled': compiled_acon,
            'triton': triton_backend}
