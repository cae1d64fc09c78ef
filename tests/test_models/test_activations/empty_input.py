"""Checks shared by the activation tests for inputs without elements (N, H or W = 0)."""
import warnings

import torch

EMPTY_SHAPES = ((0, 4, 5, 3), (2, 4, 0, 3), (2, 4, 5, 0))
DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def check_empty_input(module, shape, dtype, out_shape=None):
    """``module`` (cast to ``dtype``) on an empty ``x`` of ``shape``, forward and backward.

    Asserts: the output is empty, ``out_shape`` (default ``shape``) and x's dtype; x's
    gradient is empty and shaped like x; every parameter's gradient is zeros of its
    dtype (as the plain formula through autograd gives: a sum over nothing), never None;
    every buffer (BN running statistics, ``num_batches_tracked``) is unchanged; no
    warning but torch's own deprecation notices.
    """
    module = module.to(dtype)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        y = module(x)
        y.backward(torch.ones_like(y))
    where = f'{module!r} on {tuple(shape)} {dtype}'
    assert [str(w.message) for w in caught
            if not issubclass(w.category, DeprecationWarning)] == [], where
    assert tuple(y.shape) == tuple(out_shape or shape) and y.dtype == dtype, where
    assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == dtype, where
    for name, p in module.named_parameters():
        assert p.grad is not None, f'{where}: {name}.grad is None'
        assert p.grad.dtype == p.dtype, f'{where}: {name}.grad is {p.grad.dtype}'
        assert torch.equal(p.grad, torch.zeros_like(p)), f'{where}: {name}.grad is not zeros'
    for name, v in module.state_dict().items():
        assert torch.equal(v, before[name]), f'{where}: {name} changed'
    return y
