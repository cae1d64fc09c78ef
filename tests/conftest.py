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

try:  # the ops tests run with torch alone (the GPU check runs them where mmengine is absent)
    from mmengine.registry import DefaultScope
except ModuleNotFoundError as error:
    if error.name != 'mmengine':
        raise
    DefaultScope = None


@pytest.fixture(autouse=True)
def _no_default_scope():
    """Run each test with no default scope set, and restore what was there afterwards.

    mmengine keeps the scope a test enters (``init_default_scope``, a Runner) as the
    process's current ``DefaultScope``, and every ``MODELS.build`` resolves names in it:
    left at ``'mmpretrain'`` or ``'mmseg'`` by one test, a later test asking mmdet's
    registry for ``AconResNet`` would get the root or mmseg class. A process that trains
    one config never switches scope; a test process does. A test that needs a scope sets
    it itself. Without mmengine there is no scope to keep.
    """
    if DefaultScope is None:
        yield
        return
    saved = DefaultScope._instance_dict.copy()
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)
