"""mmacon/ops/function.py: the lean Function on every backend against the plain formula
(float64, float32, gradcheck), saved bytes, AMP, channels_last, checkpointing, DDP."""
import os
import socket

import pytest
import torch
from torch.utils.checkpoint import checkpoint

from mmacon.models.activations import AconC, MetaAconC
from mmacon.ops import BACKENDS, AconCFunction, acon_c
from mmacon.ops.reference import acon_c_reference
from tests.test_ops.helpers import (BETA_SHAPES, C, H, N, W, inputs, saved_bytes,
                                    value_and_grads)

FUNCTION_IMPLS = ('eager', 'cpp')
# the Triton kernels run in Triton's interpreter where CUDA is absent (tests/conftest.py)
TRITON = pytest.param('triton', marks=pytest.mark.skipif(
    BACKENDS['triton'].available() is not None, reason=str(BACKENDS['triton'].available())))


@pytest.mark.parametrize('impl', FUNCTION_IMPLS + (TRITON,))
@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
@pytest.mark.parametrize('channels_last', [False, True])
def test_function_matches_formula_float64(impl, beta_kind, channels_last):
    ts = inputs(BETA_SHAPES[beta_kind], channels_last=channels_last)
    go = torch.randn(N, C, H, W, dtype=torch.float64)
    expected = value_and_grads(acon_c_reference, ts, go)
    got = value_and_grads(lambda *a: AconCFunction.apply(*a, impl), ts, go)
    for e, g in zip(expected, got):
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, rtol=0, atol=1e-12)


@pytest.mark.parametrize('impl', FUNCTION_IMPLS + (TRITON,))
@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
def test_function_float32_close(impl, beta_kind):
    ts = inputs(BETA_SHAPES[beta_kind], dtype=torch.float32, seed=1)
    go = torch.randn(N, C, H, W)
    expected = value_and_grads(acon_c_reference, [t.double() for t in ts], go.double())
    got = value_and_grads(lambda *a: AconCFunction.apply(*a, impl), ts, go)
    for e, g in zip(expected, got):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g.double(), e, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('impl', FUNCTION_IMPLS)
@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
def test_gradcheck(impl, beta_kind):
    ts = inputs(BETA_SHAPES[beta_kind])
    x = ts[0].detach()[:2, :3, :3, :4].clone().requires_grad_()
    shape = BETA_SHAPES[beta_kind]
    b_shape = tuple(min(s, m) for s, m in zip(shape, (2, 3, 3, 4)))
    p1 = ts[1].detach()[:, :3].clone().requires_grad_()
    p2 = ts[2].detach()[:, :3].clone().requires_grad_()
    beta = torch.rand(b_shape, dtype=torch.float64).mul(2).requires_grad_()
    assert torch.autograd.gradcheck(lambda *a: AconCFunction.apply(*a, impl), (x, p1, p2, beta))


@pytest.mark.parametrize('impl', FUNCTION_IMPLS + (TRITON,))
def test_saved_bytes_aconc_at_most_1_1x_input(impl):
    m = AconC(64, impl=impl)
    x = torch.randn(2, 64, 16, 16, requires_grad=True)
    nbytes, out = saved_bytes(m, x)
    input_bytes = x.numel() * x.element_size()
    assert nbytes <= 1.1 * input_bytes
    out.sum().backward()
    ref_bytes, _ = saved_bytes(AconC(64, impl='reference'), x)
    assert ref_bytes >= 2.5 * input_bytes  # what the Function saves us


@pytest.mark.parametrize('impl', FUNCTION_IMPLS)
@pytest.mark.parametrize('mode', ['channel', 'layer', 'pixel'])
def test_saved_bytes_meta_acon_at_most_1_2x_input(impl, mode):
    m = MetaAconC(64, mode=mode, impl=impl)
    x = torch.randn(2, 64, 16, 16, requires_grad=True)
    nbytes, _ = saved_bytes(m, x)
    assert nbytes <= 1.2 * x.numel() * x.element_size()


@pytest.mark.parametrize('impl', ['auto', 'eager', 'reference'])
@pytest.mark.parametrize('mode', ['channel', 'layer', 'pixel'])
def test_meta_acon_per_sample_beta_grad_reaches_generator(impl, mode):
    torch.manual_seed(0)
    m = MetaAconC(16, mode=mode, impl=impl).double()
    ref = MetaAconC(16, mode=mode, impl='reference').double()
    ref.load_state_dict(m.state_dict())
    x = torch.randn(4, 16, 5, 6, dtype=torch.float64)
    outs = []
    for mod in (m, ref):
        xi = x.clone().requires_grad_()
        mod(xi).square().sum().backward()
        outs.append([xi.grad] + [p.grad for p in mod.parameters()])
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize('impl', ['auto', 'eager', TRITON])
def test_autocast_bf16_cpu(impl):
    """Output in x's dtype (bfloat16) for every impl; parameter gradients in float32."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 16, 3, padding=1)
    m = AconC(16, impl=impl)
    ref = AconC(16, impl='reference')
    ref.load_state_dict(m.state_dict())
    x = torch.randn(2, 8, 10, 10)
    results = []
    for mod in (m, ref):
        mod.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            h = conv(x)
            assert h.dtype == torch.bfloat16
            y = mod(h)
            assert y.dtype == torch.bfloat16
        y.float().square().mean().backward()
        results.append((y.float(), [p.grad.clone() for p in mod.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-2, atol=1e-2)
    for a, b in zip(results[0][1], results[1][1]):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize('impl', FUNCTION_IMPLS + (TRITON,))
def test_channels_last_module_and_layout_kept(impl):
    m = MetaAconC(C, impl=impl).double()
    ref = MetaAconC(C, impl='reference').double()
    ref.load_state_dict(m.state_dict())
    x = torch.randn(N, C, H, W, dtype=torch.float64).to(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = m(xa), ref(xb)
    assert ya.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(ya, yb, rtol=0, atol=1e-12)
    ya.sum().backward()
    yb.sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize('impl', FUNCTION_IMPLS)
@pytest.mark.parametrize('use_reentrant', [False, True])
def test_checkpoint(impl, use_reentrant):
    m = AconC(C, impl=impl).double()
    x = torch.randn(N, C, H, W, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    checkpoint(m, xa, use_reentrant=use_reentrant).sum().backward()
    ga = [p.grad.clone() for p in m.parameters()]
    m.zero_grad()
    m(xb).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=1e-12)
    for a, p in zip(ga, m.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=0, atol=1e-12)


def test_function_is_once_differentiable():
    x, p1, p2, beta = inputs(BETA_SHAPES['channel'])
    y = AconCFunction.apply(x, p1, p2, beta, 'eager')
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_only_needed_gradients_are_returned():
    x, p1, p2, beta = inputs(BETA_SHAPES['channel'])
    p1.requires_grad_(False)
    y = acon_c(x, p1, p2, beta, impl='cpp')
    gx, gp2 = torch.autograd.grad(y.sum(), (x, p2))
    ex, ep2 = torch.autograd.grad(acon_c_reference(x, p1, p2, beta).sum(), (x, p2))
    torch.testing.assert_close(gx, ex, rtol=0, atol=1e-12)
    torch.testing.assert_close(gp2, ep2, rtol=0, atol=1e-12)
    assert p1.grad is None


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_single_process_gloo():
    import torch.distributed as dist
    if not dist.is_available():
        pytest.skip('torch.distributed unavailable')
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{_free_port()}',
                            rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1), MetaAconC(8, impl='auto'),
                                  torch.nn.Conv2d(8, 8, 1), AconC(8, impl='auto'))
        ref = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1), MetaAconC(8, impl='reference'),
                                  torch.nn.Conv2d(8, 8, 1), AconC(8, impl='reference'))
        ref.load_state_dict(net.state_dict())
        ddp = torch.nn.parallel.DistributedDataParallel(net)
        x = torch.randn(4, 4, 6, 6)
        ddp(x).square().mean().backward()
        ref(x).square().mean().backward()
        for a, b in zip(net.parameters(), ref.parameters()):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('impl', ['auto', 'eager', 'triton'])
@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
def test_cuda_matches_formula(impl, beta_kind):
    ts = [t.detach().float().cuda() for t in inputs(BETA_SHAPES[beta_kind])]
    go = torch.randn(N, C, H, W, device='cuda')
    expected = value_and_grads(acon_c_reference, ts, go)
    got = value_and_grads(lambda *a: acon_c(*a, impl=impl), ts, go)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)
