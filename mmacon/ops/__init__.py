"""ACON-C kernels, Meta-ACON's fused nodes, and the one function that picks among them.

Torch alone (Triton optional): nothing here imports mmengine, mmcv, the OpenMMLab
toolboxes or :mod:`mmacon.models`; the models import this package, never the reverse.

- :mod:`.reference`: the math once (``acon_c_reference``, ``smooth_max``), which every
  backend is checked against in float64.
- :mod:`.backends`: the table: each backend's name, devices, dtypes and refusals
  (``'reference'``, ``'eager'``, ``'cpp'``, ``'triton'``; Meta-ACON's fused ``'cpp'``),
  and ``'auto'``'s priority list per device.
- :mod:`.dispatch`: :func:`choose` (the one decision), :func:`acon_c`, ``impl`` defaults,
  :func:`explain_impl`.
- :mod:`.function`: :class:`AconCFunction`, the lean autograd Function.
- :mod:`.custom_op`: ``torch.ops.mmacon.acon_c`` for ``torch.compile`` / ``torch.export``.
- the backends: :mod:`.eager_acon` (PyTorch ops), :mod:`.cpu_acon` (fused C++, source
  ``acon_c_cpu.cpp``), :mod:`.triton_acon`, :mod:`.cpu_meta_acon` (Meta-ACON's channel-wise
  generator and ACON-C as one CPU node, source ``meta_acon_cpu.cpp``),
  :mod:`.triton_meta_acon` (its CUDA counterpart: Triton kernels around the generator's
  ATen ops); :mod:`.cpp_loader` builds, caches and loads the C++ sources beside it.
"""
from . import custom_op  # noqa: F401  (registers torch.ops.mmacon.acon_c)
from .backends import ACON_C, AUTO, BACKENDS, META_ACON_FUSED
from .dispatch import (IMPLS, acon_c, check_impl, choose, default_impl, explain_impl,
                       get_default_impl, reference, refusals, resolve_impl, set_default_impl)
from .function import AconCFunction
from .reference import acon_c_reference, smooth_max

__all__ = ['IMPLS', 'ACON_C', 'AUTO', 'BACKENDS', 'META_ACON_FUSED', 'AconCFunction', 'acon_c',
           'acon_c_reference', 'check_impl', 'choose', 'default_impl', 'explain_impl',
           'get_default_impl', 'reference', 'refusals', 'resolve_impl', 'set_default_impl',
           'smooth_max']
