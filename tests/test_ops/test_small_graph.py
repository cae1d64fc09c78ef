"""mmacon/ops/small_graph.py: same numbers as the plain subgraph, one thread inside, restored after."""
import pytest
import torch

from mmacon.ops.small_graph import one_thread, single_threaded


def _gate():
    torch.manual_seed(0)
    fc, bn = torch.nn.Linear(6, 6).double(), torch.nn.BatchNorm1d(6).double()
    return (lambda t: torch.sigmoid(bn(fc(t)))), [*fc.parameters(), *bn.parameters()], bn


def test_values_and_gradients_equal_the_plain_subgraph():
    fn, params, _ = _gate()
    x = torch.randn(4, 6, dtype=torch.float64)
    results = []
    for run in (lambda t: fn(t), lambda t: single_threaded(fn, t, params)):
        xi = x.clone().requires_grad_()
        y = run(xi)
        grads = torch.autograd.grad(y.square().sum(), [xi, *params])
        results.append([y.detach(), *grads])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-15)


def test_gradcheck_and_threads_inside_and_after(monkeypatch):
    fn, params, _ = _gate()
    seen = []

    def spy(t):
        seen.append(torch.get_num_threads())
        return fn(t)

    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    before = torch.get_num_threads()
    assert torch.autograd.gradcheck(lambda t: single_threaded(spy, t, params), (x,))
    assert set(seen) == {1} and torch.get_num_threads() == before


def test_error_inside_restores_threads():
    torch.set_num_threads(2)

    def boom(t):
        raise ValueError('from the gate')

    with pytest.raises(ValueError, match='from the gate'):
        single_threaded(boom, torch.randn(2, 3, requires_grad=True), [])
    assert torch.get_num_threads() == 2
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_frozen_params_no_grad_and_tracing_are_plain():
    fn, params, bn = _gate()
    for p in params:
        p.requires_grad_(False)
    x = torch.randn(4, 6, dtype=torch.float64)
    y = single_threaded(fn, x, params)
    assert y.grad_fn is None
    with torch.no_grad():
        torch.testing.assert_close(single_threaded(fn, x, params), fn(x), rtol=0, atol=1e-15)
    bn.eval()
    traced = torch.jit.trace(lambda t: single_threaded(fn, t, params), (x,))
    kinds = {n.kind() for n in traced.graph.nodes()}
    assert 'aten::sigmoid' in kinds and 'prim::PythonOp' not in kinds


def test_non_reentrant_checkpoint_recomputes_the_block_once():
    """The inner graph keeps its own tensors: backward's autograd.grad on it must not
    unpack checkpoint placeholders, which would rerun the whole block (and update a
    BatchNorm's running statistics) once more per gate."""
    import torch.utils.checkpoint as cp
    lin = torch.nn.Linear(4, 4)
    calls = []

    def gate(t):
        calls.append(1)
        return torch.sigmoid(lin(t))

    def block(x):
        return x * single_threaded(gate, x.mean(0, keepdim=True), list(lin.parameters()))

    x = torch.randn(3, 4, requires_grad=True)
    y = cp.checkpoint(block, x, use_reentrant=False)
    y.sum().backward()
    assert len(calls) == 2  # forward, and the one recompute in backward
    expected = torch.autograd.grad(block(x.detach().requires_grad_()).sum(), lin.weight)[0]
    torch.testing.assert_close(lin.weight.grad, expected, rtol=0, atol=1e-6)
