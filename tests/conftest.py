import os
import sys

# Any test may use tests/test_tools/tool_helpers.py (``load_tool``, paths). Other shared
# helpers are imported as modules of the ``tests`` package (e.g. ``tests.test_ops.helpers``).
HERE = os.path.dirname(__file__)
for sub in ('test_tools',):
    sys.path.insert(0, os.path.join(HERE, sub))

# Without CUDA, Triton kernels run in Triton's interpreter on CPU tensors
# (tests/test_ops/test_triton_acon.py). triton.jit reads the variable when it decorates,
# so it is set here, before anything imports triton.
if os.environ.get('TRITON_INTERPRET') is None:
    import torch
    if not torch.cuda.is_available():
        os.environ['TRITON_INTERPRET'] = '1'
