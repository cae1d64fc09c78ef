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

import pytest  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Give each test the default scope it started with.

    mmengine keeps the scope a test entered (``init_default_scope``, a Runner) as the
    process's current ``DefaultScope``, and ``MODELS.build`` resolves names in it: left
    set, a later test asking the root or mmdet registry for ``AconResNet`` would get
    mmseg's. A process that trains one config never switches scope; a test process does.
    """
    saved = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)
