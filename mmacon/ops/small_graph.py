"""Run a small subgraph (e.g. Meta-ACON's generator on (N, C) tensors) on one CPU thread.

ATen parallelises some ops over channels whatever their size (batch norm among them),
so on a (8, 64, 1, 1) tensor each call wakes the intra-op thread pool, which costs more
than the arithmetic, forward and backward, and far more on a busy machine.
:func:`single_threaded` runs ``fn(x)`` with one intra-op thread and, when gradients
are needed, wraps it in one autograd node whose backward also runs on one thread.
The numbers are those of ``fn(x)``; it is once differentiable. Under tracing, export
and ``torch.compile`` it is plain ``fn(x)``. ``torch.set_num_threads`` is process-wide:
another Python thread running ops meanwhile would also see one thread.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _keep(t: Tensor) -> Tensor:
    return t


class _SingleThreaded(torch.autograd.Function):

    @staticmethod
    def forward(ctx, fn: Callable[[Tensor], Tensor], x: Tensor,  # type: ignore[override]
                *params: Tensor) -> Tensor:
        # identity hooks: the inner graph keeps its own (small) tensors. Under an outer
        # saved_tensors_hooks (non-reentrant checkpointing) they would be packed as
        # placeholders, and the torch.autograd.grad of backward would recompute the
        # whole checkpointed block again for each gate.
        with torch.enable_grad(), one_thread(), \
                torch.autograd.graph.saved_tensors_hooks(_keep, _keep):
            xd = x.detach().requires_grad_(x.requires_grad)
            out = fn(xd)
        ctx.graph = (xd, out)
        ctx.saved_params = params  # leaves (module parameters): no reference cycle
        return out.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        xd, out = ctx.graph  # kept (tiny) so that a retained outer graph can run again
        need = ctx.needs_input_grad[1:]
        wrt = [t for t, n in zip((xd,) + ctx.saved_params, need) if n]
        with one_thread():
            grads = iter(torch.autograd.grad(out, wrt, grad, retain_graph=True,
                                             allow_unused=True))
        return (None,) + tuple(next(grads) if n else None for n in need)


def single_threaded(fn: Callable[[Tensor], Tensor], x: Tensor,
                    params: Sequence[Tensor]) -> Tensor:
    """``fn(x)`` on one intra-op thread; ``params`` are the tensors ``fn`` differentiates."""
    if (x.device.type != 'cpu' or torch.jit.is_tracing() or torch.jit.is_scripting()
            or torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export()):
        return fn(x)
    params = [p for p in params if p.requires_grad]
    if not torch.is_grad_enabled() or not (x.requires_grad or params):
        with one_thread():
            return fn(x)
    return _SingleThreaded.apply(fn, x, *params)
