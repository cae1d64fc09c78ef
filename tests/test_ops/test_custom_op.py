"""mmacon/ops/custom_op.py: torch.ops.mmacon.acon_c under opcheck, torch.compile
(fullgraph) and torch.export; ONNX-style tracing keeps the plain formula."""
import pytest
import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd

from mmacon.models.activations import AconC, MetaAconC
from mmacon.ops import BACKENDS, acon_c
from tests.test_ops.helpers import BETA_SHAPES, inputs, saved_bytes


def _net(dtype):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), AconC(8),
                               MetaAconC(8, norm_cfg=None), torch.nn.Conv2d(8, 4, 1),
                               MetaAconC(4, mode='pixel', norm_cfg=None)).to(dtype)


def _values_and_grads(net, x):
    x = x.clone().requires_grad_()
    net.zero_grad(set_to_none=True)
    y = net(x)
    y.square().sum().backward()
    return [y.detach(), x.grad] + [p.grad for p in net.parameters()]


def _recording_backend(graphs):
    def fw(gm, example_inputs):
        graphs.setdefault('fw', []).append(gm)
        return make_boxed_func(gm.forward)

    def bw(gm, example_inputs):
        graphs.setdefault('bw', []).append(gm)
        return make_boxed_func(gm.forward)

    return aot_autograd(fw_compiler=fw, bw_compiler=bw)


def _targets(graph):
    return [str(n.target) for n in graph.nodes if n.op == 'call_function']


@pytest.mark.parametrize('kind', ['channel', 'pixel'])
def test_opcheck(kind):
    x, p1, p2, beta = inputs(BETA_SHAPES[kind])
    impls = ('auto', 'eager') + (('triton',) if BACKENDS['triton'].available() is None else ())
    for impl in impls:
        torch.library.opcheck(torch.ops.mmacon.acon_c.default, (x, p1, p2, beta, impl))


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_fullgraph_compile_keeps_the_op(dtype, tol):
    """AOTAutograd (no inductor, cheap): one graph, the op forward and backward, same numbers."""
    net = _net(dtype)
    x = torch.randn(2, 3, 5, 6, dtype=dtype)
    expected = _values_and_grads(net, x)
    graphs = {}
    compiled = torch.compile(net, fullgraph=True, backend=_recording_backend(graphs))
    got = _values_and_grads(compiled, x)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=tol, atol=tol)
    assert len(graphs['fw']) == 1 and len(graphs['bw']) == 1
    fw, bw = _targets(graphs['fw'][0].graph), _targets(graphs['bw'][0].graph)
    assert fw.count('mmacon.acon_c.default') == 3
    assert bw.count('mmacon.acon_c_backward.default') == 3
    # the only sigmoids are the two generators' (N, C, 1, 1) / (N, 1, H, W) gates
    assert fw.count('aten.sigmoid.default') == 2 and bw.count('aten.sigmoid_backward.default') == 2


def test_compiled_op_saves_only_x_and_coefficients():
    m = AconC(64)
    x = torch.randn(2, 64, 16, 16, requires_grad=True)
    compiled = torch.compile(m, fullgraph=True, backend=_recording_backend({}))
    nbytes, out = saved_bytes(compiled, x)
    assert nbytes <= 1.1 * x.numel() * x.element_size()
    out.sum().backward()


@pytest.mark.compile
def test_inductor_fullgraph_matches_eager_float32():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), AconC(8), MetaAconC(8, norm_cfg=None))
    x = torch.randn(2, 3, 5, 6)
    expected = _values_and_grads(net, x)
    compiled = torch.compile(net, fullgraph=True)  # inductor
    got = _values_and_grads(compiled, x)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_export_keeps_the_op():
    net = _net(torch.float32).eval()
    x = torch.randn(2, 3, 5, 6)
    ep = torch.export.export(net, (x,))
    assert _targets(ep.graph).count('mmacon.acon_c.default') == 3
    # eager MetaAconC runs its generator fused in float64 (mmacon.ops.cpu_meta_acon), the
    # exported graph in float32 ATen ops: equal to float32 rounding, not bit for bit
    torch.testing.assert_close(ep.module()(x), net(x), rtol=1e-6, atol=1e-6)


def test_explicit_reference_and_tracing_keep_the_plain_formula():
    m = AconC(8, impl='reference')
    ep = torch.export.export(m, (torch.randn(2, 8, 3, 3),))
    targets = _targets(ep.graph)
    assert 'mmacon.acon_c.default' not in targets and 'aten.sigmoid.default' in targets
    traced = torch.jit.trace(AconC(8), (torch.randn(2, 8, 3, 3),), check_trace=False)
    kinds = {n.kind() for n in traced.graph.nodes()}
    assert 'aten::sigmoid' in kinds and not any(k.startswith('mmacon::') for k in kinds)


def test_op_in_eager_matches_the_function():
    x, p1, p2, beta = inputs(BETA_SHAPES['sample-channel'])
    y = torch.ops.mmacon.acon_c(x, p1, p2, beta, 'auto')
    grads = torch.autograd.grad(y.square().sum(), (x, p1, p2, beta))
    y2 = acon_c(x, p1, p2, beta)
    grads2 = torch.autograd.grad(y2.square().sum(), (x, p1, p2, beta))
    torch.testing.assert_close(y, y2, rtol=0, atol=1e-12)
    for a, b in zip(grads, grads2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
