"""Test-suite root: ``tests`` and its folders are packages, so shared helpers import as
modules (``from tests.test_tools import tool_helpers``), with no ``sys.path`` edits."""
import os

# Without CUDA, Triton kernels run in Triton's interpreter on CPU tensors
# (tests/test_ops/test_triton_acon.py). triton.jit reads the variable when it decorates,
# so it is set here, before anything imports triton.
if os.environ.get('TRITON_INTERPRET') is None:
    import torch
    if not torch.cuda.is_available():
        os.environ['TRITON_INTERPRET'] = '1'
