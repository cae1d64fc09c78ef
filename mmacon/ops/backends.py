"""The ACON-C backends by ``impl`` name; each module has the same four functions:

``available() -> str | None`` (None if usable, else why not), ``supports(x, p1, p2,
beta) -> str | None`` (None if this call can run, else why not), ``forward(x, p1, p2,
beta)`` (output in x's dtype) and ``backward(grad, x, p1, p2, beta, need_x, need_p,
need_beta) -> (gx, gp1, gp2, gbeta)``.
"""
from __future__ import annotations

import importlib.util
from types import SimpleNamespace

from . import compiled_acon, cpu_acon, eager_acon


def _unavailable(why: str) -> SimpleNamespace:
    return SimpleNamespace(available=lambda: why, supports=lambda *a: why)


if importlib.util.find_spec(f'{__package__}.triton_acon') is None:
    triton_acon = _unavailable('mmacon/ops/triton_acon.py is not part of this install')
else:
    try:
        from . import triton_acon  # its available() says what is missing (CUDA, Triton)
    except ImportError as e:
        triton_acon = _unavailable(f'mmacon.ops.triton_acon failed to import: {e}')



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
