"""Inputs and measurements shared by the tests of mmacon/ops/ (imported as a module)."""
import torch

from benchmarks.common import saved_bytes  # noqa: F401  (one counter for tests and benchmarks)

N, C, H, W = 3, 6, 5, 7
BETA_SHAPES = {'channel': (1, C, 1, 1), 'sample-channel': (N, C, 1, 1),
               'sample': (N, 1, 1, 1), 'pixel': (N, 1, H, W)}


def inputs(beta_shape, dtype=torch.float64, seed=0, channels_last=False):
    """x (N, C, H, W), p1, p2 (1, C, 1, 1) and beta of ``beta_shape``, requiring grad."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, C, H, W, generator=g, dtype=dtype) * 2
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    p1 = torch.randn(1, C, 1, 1, generator=g, dtype=dtype)
    p2 = torch.randn(1, C, 1, 1, generator=g, dtype=dtype)
    beta = torch.rand(beta_shape, generator=g, dtype=dtype) * 2
    return [t.requires_grad_() for t in (x, p1, p2, beta)]


def value_and_grads(fn, tensors, grad_out):
    """[fn(*tensors), grad of each tensor] for ``fn(*tensors).backward(grad_out)``."""
    tensors = [t.detach().clone().requires_grad_() for t in tensors]
    y = fn(*tensors)
    y.backward(grad_out)
    return [y.detach()] + [t.grad for t in tensors]
