"""mmacon/ops/cpu_acon.py: the fused C++ kernel against the formula, its dtypes and limits."""
import os

import pytest
import torch

from mmacon.ops.reference import acon_c_reference
from mmacon.ops import cpu_acon
from tests.test_ops.helpers import BETA_SHAPES, C, H, N, W, inputs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(cpu_acon.available() is not None,
                                reason=f'no CPU kernel here: {cpu_acon.available()}')


def _grads(fn, ts, go):
    ts = [t.detach().clone().requires_grad_() for t in ts]
    y = fn(*ts)
    return [y] + list(torch.autograd.grad(y, ts, go))


@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES) + ['full'])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('threads', [1, 2])
def test_kernel_against_formula_float64(beta_kind, channels_last, threads, monkeypatch):
    shape = BETA_SHAPES.get(beta_kind, (1, C, H, W))
    ts = [t.detach() for t in inputs(shape, channels_last=channels_last)]
    if beta_kind == 'full' and channels_last:
        assert 'not both channels and space' in cpu_acon.supports(*ts)
        return
    assert cpu_acon.supports(*ts) is None
    monkeypatch.setattr(cpu_acon, '_PARALLEL_MIN', 0 if threads > 1 else 1 << 40)
    go = torch.randn(N, C, H, W, dtype=torch.float64)
    y = cpu_acon.forward(*ts)
    grads = cpu_acon.backward(go, *ts)
    expected = _grads(acon_c_reference, ts, go)
    for g, e in zip([y, *grads], expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        torch.testing.assert_close(g, e, rtol=0, atol=1e-12)
    assert y.is_contiguous(memory_format=torch.channels_last if channels_last
                           else torch.contiguous_format)


def test_broadcast_and_strided_gradient_and_unneeded_grads():
    """The stride-0 gradient of y.sum() and a (1, 1, 1, 1) p1 (AconB)."""
    x, _, p2, beta = (t.detach() for t in inputs(BETA_SHAPES['pixel']))
    p1 = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    go = torch.ones(1, dtype=torch.float64).expand(x.shape)
    expected = _grads(acon_c_reference, [x, p1, p2, beta], go)
    gx, g1, g2, gb = cpu_acon.backward(go, x, p1, p2, beta)
    for g, e in zip([gx, g1, g2, gb], expected[1:]):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-12)
    assert cpu_acon.backward(go, x, p1, p2, beta, False, False, True)[:3] == (None, None, None)


def test_float32_deterministic_and_close():
    x, p1, p2, beta = (t.detach() for t in inputs(BETA_SHAPES['sample-channel'], torch.float32))
    x = x.repeat(4, 1, 8, 8).contiguous()  # big enough for two threads
    beta = beta.repeat(4, 1, 1, 1)
    go = torch.randn_like(x)
    first = cpu_acon.backward(go, x, p1, p2, beta)
    second = cpu_acon.backward(go, x, p1, p2, beta)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    expected = _grads(acon_c_reference, [t.double() for t in (x, p1, p2, beta)], go.double())
    for g, e in zip(first, expected[1:]):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g.double(), e, rtol=1e-4, atol=1e-3)


def test_supports_names_each_reason():
    x, p1, p2, beta = (t.detach() for t in inputs(BETA_SHAPES['channel']))
    assert cpu_acon.supports(x.half(), p1.float(), p2.float(), beta.float()) is None
    assert cpu_acon.supports(x.half(), p1, p2, beta) == (
        'p1 is torch.float64 on cpu, x is torch.float16 on cpu (the kernel takes coefficients '
        'in torch.float32 for it)')
    assert cpu_acon.supports(x.int(), p1, p2, beta).startswith('x is torch.int32')
    assert cpu_acon.supports(x, p1.float(), p2, beta) == (
        'p1 is torch.float32 on cpu, x is torch.float64 on cpu (the kernel takes coefficients '
        'in torch.float64 for it)')
    assert 'neither contiguous' in cpu_acon.supports(x.transpose(2, 3), p1, p2, beta)
    assert cpu_acon.supports(x[:0], p1, p2, beta) is None  # empty: no kernel call
    half = torch.rand(1, 1, H, 1, dtype=torch.float64)  # partly broadcast spatial
    assert 'spatial dims all 1 or all full' in cpu_acon.supports(x, p1, p2, half)


@pytest.mark.parametrize('case', ['channels_last-channel', 'channels_last-sample-channel',
                                  'nchw-pixel'])
@pytest.mark.parametrize('threads', [1, 2])
def test_float32_coefficients_along_rows_sum_in_blocks(case, threads, monkeypatch):
    """Coefficients that vary along a row sum in float blocks of rows, then in float64.

    243 channels_last rows of C (several blocks; per-sample beta changes offset every 81
    rows) and NCHW rows with a per-pixel beta (offset changes every C rows).
    """
    layout, kind = case.split('-', 1)
    monkeypatch.setattr(cpu_acon, '_PARALLEL_MIN', 0 if threads > 1 else 1 << 40)
    g = torch.Generator().manual_seed(3)
    n, c, h, w = 3, 6, 9, 9
    beta_shape = {'channel': (1, c, 1, 1), 'sample-channel': (n, c, 1, 1),
                  'pixel': (n, 1, h, w)}[kind]
    x = torch.randn(n, c, h, w, generator=g) * 2
    go = torch.randn(n, c, h, w, generator=g)
    if layout == 'channels_last':
        x, go = (t.contiguous(memory_format=torch.channels_last) for t in (x, go))
    p1, p2 = (torch.randn(1, c, 1, 1, generator=g) for _ in range(2))
    beta = torch.rand(beta_shape, generator=g) * 2
    assert cpu_acon.supports(x, p1, p2, beta) is None
    got = cpu_acon.backward(go, x, p1, p2, beta)
    assert all(torch.equal(a, b) for a, b in zip(got, cpu_acon.backward(go, x, p1, p2, beta)))
    expected = _grads(acon_c_reference, [t.double() for t in (x, p1, p2, beta)], go.double())
    for a, e in zip(got, expected[1:]):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a.double(), e, rtol=1e-5, atol=1e-5 * e.abs().max().item())


def test_denormal_inputs_read_as_zero_and_the_callers_mode_is_restored():
    """The kernels flush denormals (FTZ/DAZ) for their own call only."""
    x = torch.full((1, 2, 2, 2), 1e-40)  # a float32 denormal
    assert x[0, 0, 0, 0].item() != 0
    p1, p2, beta = torch.ones(1, 2, 1, 1), torch.full((1, 2, 1, 1), 0.5), torch.ones(1, 2, 1, 1)
    y = cpu_acon.forward(x, p1, p2, beta)
    assert torch.equal(y, torch.zeros_like(y))
    gx = cpu_acon.backward(torch.full_like(x, 1e-3), torch.ones_like(x), p1, p2, beta)[0]
    assert gx.abs().min().item() > 0  # normal values are untouched
    assert (torch.tensor(1e-38) * torch.tensor(1e-3)).item() != 0  # torch still sees denormals


# ---------------------------------------------------------------- float16 / bfloat16

_LOW = {torch.bfloat16: 2.0 ** -8, torch.float16: 2.0 ** -11}  # half an ulp, relative


def _low_inputs(dtype, beta_kind, channels_last, seed=5):
    """x and grad exactly representable in ``dtype``; float32 coefficients (autocast)."""
    ts = inputs(BETA_SHAPES[beta_kind], seed=seed, channels_last=channels_last)
    x, p1, p2, beta = (t.detach() for t in ts)
    g = torch.Generator().manual_seed(seed + 1)
    go = torch.randn(x.shape, generator=g, dtype=torch.float64)
    if channels_last:
        go = go.contiguous(memory_format=torch.channels_last)
    return x.to(dtype), go.to(dtype), p1.float(), p2.float(), beta.float()


@pytest.mark.parametrize('dtype', list(_LOW))
@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('threads', [1, 2])
def test_low_precision_against_formula_float64(dtype, beta_kind, channels_last, threads,
                                               monkeypatch):
    """bf16/fp16 x read and written as such, computed in float32: within half an ulp."""
    monkeypatch.setattr(cpu_acon, '_PARALLEL_MIN', 0 if threads > 1 else 1 << 40)
    x, go, p1, p2, beta = _low_inputs(dtype, beta_kind, channels_last)
    assert cpu_acon.supports(x, p1, p2, beta) is None
    y = cpu_acon.forward(x, p1, p2, beta)
    gx, g1, g2, gb = cpu_acon.backward(go, x, p1, p2, beta)
    assert y.dtype == gx.dtype == dtype and g1.dtype == gb.dtype == torch.float32
    assert y.is_contiguous(memory_format=torch.channels_last if channels_last
                           else torch.contiguous_format)
    ref = _grads(acon_c_reference, [t.double() for t in (x, p1, p2, beta)], go.double())
    ulp = _LOW[dtype]
    for got, exp in ((y, ref[0]), (gx, ref[1])):
        err = (got.double() - exp).abs()
        assert (err <= exp.abs() * ulp * 1.001 + 1e-6).all(), err.max().item()
    for got, exp in zip((g1, g2, gb), ref[2:]):  # float32 sums of exact products
        torch.testing.assert_close(got.double(), exp, rtol=1e-5, atol=1e-5 * exp.abs().max())


@pytest.mark.parametrize('dtype', list(_LOW))
@pytest.mark.parametrize('channels_last', [False, True])
def test_low_precision_is_the_float32_kernel_rounded(dtype, channels_last):
    """The bf16/fp16 kernel's y and grad_x are the float32 kernel's, rounded once."""
    x, go, p1, p2, beta = _low_inputs(dtype, 'channel', channels_last, seed=9)
    y = cpu_acon.forward(x, p1, p2, beta)
    y32 = cpu_acon.forward(x.float(), p1, p2, beta)
    assert torch.equal(y, y32.to(dtype))
    got = cpu_acon.backward(go, x, p1, p2, beta)
    f32 = cpu_acon.backward(go.float(), x.float(), p1, p2, beta)
    assert torch.equal(got[0], f32[0].to(dtype))
    for a, b in zip(got[1:], f32[1:]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_low_precision_special_values():
    """inf, -inf, NaN and overflow give the float32 kernel's values, rounded (at -inf the
    kernel's x * (d * s + p2) is -inf where the formula's -inf * 0 is NaN)."""
    x = torch.tensor([0.0, 1.0, -1.0, float('inf'), -float('inf'), float('nan'), 65504.0,
                      -3e38]).view(1, 1, 8)
    p1, p2, beta = torch.ones(1, 1, 1), torch.full((1, 1, 1), 0.25), torch.ones(1, 1, 1)
    for dtype in _LOW:
        xl = x.to(dtype)
        y = cpu_acon.forward(xl, p1, p2, beta)
        expected = cpu_acon.forward(xl.float(), p1, p2, beta).to(dtype)
        assert torch.equal(y.isnan(), expected.isnan()), (dtype, y, expected)
        finite = ~expected.isnan()
        assert torch.equal(y[finite], expected[finite]), (dtype, y, expected)


def test_empty_input_needs_no_kernel():
    x = torch.empty(0, C, H, W, dtype=torch.bfloat16)
    p = torch.randn(1, C, 1, 1)
    assert cpu_acon.supports(x, p, p, p) is None
    assert cpu_acon.forward(x, p, p, p).shape == x.shape
    gx, g1, g2, gb = cpu_acon.backward(x, x, p, p, p)
    assert gx.shape == x.shape and gx.dtype == torch.bfloat16
    assert all(torch.equal(g, torch.zeros_like(p)) for g in (g1, g2, gb))
