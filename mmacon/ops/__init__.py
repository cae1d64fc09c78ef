"""ACON-C kernels and the dispatcher that picks one (see :mod:`mmacon.ops.dispatch`).

- :mod:`.dispatch`: :func:`acon_c`, ``impl`` names, defaults, the support decision.
- :mod:`.function`: :class:`AconCFunction`, the lean autograd Function.
- :mod:`.custom_op`: ``torch.ops.mmacon.acon_c`` for ``torch.compile`` / ``torch.export``.
- backends (:mod:`.backends`): :mod:`.eager_acon` (PyTorch ops), :mod:`.cpu_acon` (fused
  C++, source ``acon_c_cpu.cpp``), :mod:`.compiled_acon` (torch.compile), :mod:`.triton_acon`.
- :mod:`.cpu_meta_acon`: Meta-ACON's channel-wise generator and ACON-C as one fused CPU
  autograd node (source ``meta_acon_cpu.cpp``, built into the same library).
- :mod:`.triton_meta_acon`: its CUDA counterpart, Triton kernels around the generator's
  ATen ops.
"""
from . import custom_op  # noqa: F401  (registers torch.ops.mmacon.acon_c)
from .backends import BACKENDS
from .dispatch import (IMPLS, acon_c, check_impl, default_impl, explain_impl,
                       get_default_impl, reference, resolve_impl, set_default_impl)
from .function import AconCFunction

__all__ = ['IMPLS', 'BACKENDS', 'AconCFunction', 'acon_c', 'check_impl', 'default_impl',
           'explain_impl', 'get_default_impl', 'reference', 'resolve_impl', 'set_default_impl']
