"""mmacon/ops/dispatch.py: which impl runs, why not, defaults, fallbacks, the dtype policy."""
import warnings
from unittest.mock import ANY

import pytest
import torch

from mmacon.models.activations import AconB, AconC, MetaAconC
from mmacon.ops import (IMPLS, acon_c, check_impl, choose, default_impl, dispatch, explain_impl,
                        get_default_impl, refusals, resolve_impl, set_default_impl)
from mmacon.ops import backends, cpu_acon
from mmacon.ops.backends import ACON_C, BACKENDS
from mmacon.ops.reference import acon_c_reference
from tests.test_ops.helpers import BETA_SHAPES, C, inputs


def _detached(kind='channel', dtype=torch.float64):
    return [t.detach() for t in inputs(BETA_SHAPES[kind], dtype=dtype)]


def test_auto_is_cpp_on_cpu_and_aconb_broadcast_p1():
    x, p1, p2, beta = inputs(BETA_SHAPES['channel'])
    assert resolve_impl('auto', x, p1, p2, beta) == ('cpp' if cpu_acon.available() is None
                                                      else 'eager')
    m = AconB(C).double()  # p1 is a (1, 1, 1, 1) buffer without grad
    ref = AconB(C).double()
    ref.load_state_dict(m.state_dict())
    xa = x.detach().clone().requires_grad_()
    xb = x.detach().clone().requires_grad_()
    with default_impl('cpp'):
        assert resolve_impl('auto', xa, m.p1.view(1, 1, 1, 1), m.p2, m.beta) == 'cpp'
        m(xa).sum().backward()
    with default_impl('reference'):
        ref(xb).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(m.p2.grad, ref.p2.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(m.beta.grad, ref.beta.grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_low_precision_runs_on_cpp_and_keeps_dtype(dtype):
    x, p1, p2, beta = (t.to(dtype) for t in _detached())  # coefficients in x's dtype too
    assert resolve_impl('cpp', x, p1, p2, beta) == 'cpp'
    assert explain_impl('cpp', x, p1, p2, beta) is None
    y = acon_c(x, p1, p2, beta, impl='cpp')
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), acon_c_reference(x.float(), p1.float(), p2.float(),
                                                           beta.float()), rtol=5e-2, atol=5e-2)


def test_bf16_autocast_takes_the_kernel_silently():
    """A conv's bfloat16 output under CPU autocast: 'auto' runs the C++ kernel, no warning."""
    conv = torch.nn.Conv2d(3, C, 3, padding=1)
    act = AconC(C)
    x = torch.randn(2, 3, 6, 5)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with torch.autocast('cpu', dtype=torch.bfloat16):
            h = conv(x)
            assert h.dtype == torch.bfloat16
            assert resolve_impl('auto', h, act.p1, act.p2, act.beta) == (
                'cpp' if cpu_acon.available() is None else 'eager')
            y = act(h)
        y.float().sum().backward()
    assert y.dtype == torch.bfloat16
    assert act.p1.grad.dtype == act.beta.grad.dtype == torch.float32
    expected = acon_c_reference(h.detach().double(), act.p1.double(), act.p2.double(),
                                act.beta.double())
    err = (y.double() - expected).abs()
    assert (err <= expected.abs() * 2.0 ** -8 + 1e-6).all(), err.max().item()


def test_auto_fallback_warns_once_with_reason_and_fix(monkeypatch):
    monkeypatch.setattr(dispatch, '_warned', set())
    x, p1, p2, beta = _detached()
    xt = x.transpose(2, 3)
    if cpu_acon.available() is not None:
        pytest.skip(f'no CPU kernel here: {cpu_acon.available()}')
    with pytest.warns(UserWarning) as record:
        assert resolve_impl('auto', xt, p1, p2, beta) == 'eager'
    (w,) = record
    msg = str(w.message)
    assert "impl='auto' runs ACON-C on cpu in 'eager'" in msg
    assert 'x is neither contiguous nor channels_last' in msg
    assert 'Fix: pass x contiguous or channels_last' in msg
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert resolve_impl('auto', xt, p1, p2, beta) == 'eager'  # once per reason
        assert resolve_impl('cpp', xt, p1, p2, beta) == 'eager'  # asked for: silent
        assert resolve_impl('eager', xt, p1, p2, beta) == 'eager'


def test_explain_impl_lists_every_backend():
    x, p1, p2, beta = _detached()
    xt = x.transpose(2, 3)
    text = explain_impl('cpp', xt, p1, p2, beta)
    assert text.startswith('cpp: x is neither contiguous nor channels_last')
    assert "runs 'eager'" in text
    for name in ('reference: takes it', 'eager: takes it', 'cpp: x is neither', 'triton: '):
        assert name in text
    assert set(refusals(xt, p1, p2, beta)) == set(ACON_C)
    assert refusals(xt, p1, p2, beta)['eager'] is None


@pytest.mark.parametrize('impl', ['auto', 'reference', 'eager', 'cpp'])
@pytest.mark.parametrize('dtype', [torch.float64, torch.bfloat16])
def test_empty_batch_forward_and_backward(impl, dtype):
    """N = 0: the empty output and zero coefficient gradients, for every impl."""
    x = torch.empty(0, C, 5, 7, dtype=dtype, requires_grad=True)
    ps = [torch.randn(1, C, 1, 1, dtype=torch.float64 if dtype == torch.float64
                      else torch.float32, requires_grad=True) for _ in range(3)]
    y = acon_c(x, *ps, impl=impl)
    assert y.shape == x.shape and y.dtype == dtype
    y.sum().backward()
    assert x.grad.shape == x.shape
    for p in ps:
        assert p.grad is not None and torch.equal(p.grad, torch.zeros_like(p))


def test_compiled_was_removed_with_a_hint():
    with pytest.raises(ValueError, match=r"impl='compiled' was removed"):
        AconC(4, impl='compiled')


def test_meta_acon_fused_choice():
    m = MetaAconC(C, reduction=2).double()
    x = _detached()[0]
    args = (m.p1, m.p2, m.fc1, m.bn1, m.fc2, m.bn2)
    on_cpu = cpu_acon.available() is None
    expected = ('cpp', None) if on_cpu else (None, ANY)
    assert choose('meta_acon_fused', 'auto', x, *args) == expected
    assert choose('meta_acon_fused', 'eager', x, *args) == (
        None, "impl='eager' has no fused node (those: cpp, triton)")
    name, why = choose('meta_acon_fused', 'auto', x.transpose(2, 3), *args)
    assert name is None and why == 'cpp: x is neither contiguous nor channels_last'


def test_meta_acon_fused_auto_skips_names_without_an_entry(monkeypatch):
    """AUTO may list a fused CUDA node this install lacks: 'auto' skips it, the module path
    runs and says so (a CUDA tensor faked: only the device type and dtype are read)."""
    monkeypatch.setitem(backends.AUTO['meta_acon_fused'], 'cuda', ('triton',))
    monkeypatch.delitem(backends.META_ACON_FUSED, 'triton', raising=False)

    class FakeCuda:
        type = 'cuda'

    x = type('X', (), {'device': FakeCuda(), 'dtype': torch.float32})()
    assert choose('meta_acon_fused', 'auto', x) == (None, 'no fused node runs on cuda')


@pytest.mark.parametrize('impl', ['reference', 'eager', 'cpp'])
def test_output_dtype_is_x_dtype_with_float32_coefficients(impl):
    x, p1, p2, beta = _detached(dtype=torch.float32)
    xb = x.to(torch.bfloat16).requires_grad_()
    ps = [t.clone().requires_grad_() for t in (p1, p2, beta)]
    y = acon_c(xb, *ps, impl=impl)
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert xb.grad.dtype == torch.bfloat16
    assert all(p.grad.dtype == torch.float32 for p in ps)
    expected = acon_c_reference(xb.detach().float(), p1, p2, beta)
    torch.testing.assert_close(y.float(), expected, rtol=1e-2, atol=1e-2)


def test_non_contiguous_input_uses_eager():
    x, p1, p2, beta = _detached()
    xt = x.transpose(2, 3)
    assert resolve_impl('cpp', xt, p1, p2, beta) == 'eager'
    assert 'neither contiguous nor channels_last' in explain_impl('cpp', xt, p1, p2, beta)
    torch.testing.assert_close(acon_c(xt, p1, p2, beta, impl='cpp'),
                               acon_c_reference(xt, p1, p2, beta), rtol=0, atol=1e-12)


def test_integer_input_is_the_plain_formula():
    x = torch.arange(12).view(1, 3, 2, 2)
    p = torch.ones(1, 3, 1, 1, dtype=torch.long)
    assert resolve_impl('cpp', x, p, p, p) == 'reference'
    assert 'torch.int64' in explain_impl('cpp', x, p, p, p)


def test_fallbacks_under_tracing_export_and_scripting(monkeypatch):
    x, p1, p2, beta = _detached()
    seen = []
    real = dispatch.choose

    def spy(*a, **k):
        seen.append(real(*a, **k)[0])  # noqa
        return real(*a, **k)

    monkeypatch.setattr(dispatch, 'choose', spy)
    m = AconC(C, impl='cpp').double()
    traced = torch.jit.trace(m, (x,), check_trace=False)
    assert seen == ['reference']
    torch.testing.assert_close(traced(x), m(x), rtol=0, atol=1e-12)
    # (the modules' input checks are not scriptable; the functional core is)
    scripted = torch.jit.script(acon_c)
    torch.testing.assert_close(scripted(x, p1, p2, beta, 'cpp'),
                               acon_c_reference(x, p1, p2, beta), rtol=0, atol=1e-12)
    monkeypatch.setattr(torch.onnx, 'is_in_onnx_export', lambda: True)
    for impl in IMPLS:
        assert real('acon_c', impl, x, p1, p2, beta) == (
            'reference', 'tracing and ONNX export use the plain formula')


def test_cpu_kernel_unavailable_falls_back_to_eager(monkeypatch):
    monkeypatch.setattr(cpu_acon, 'available', lambda: 'no C++ compiler found')
    monkeypatch.setattr(dispatch, '_warned', set())
    x, p1, p2, beta = _detached()
    with pytest.warns(UserWarning, match=r"no C\+\+ compiler found\. Fix: .*install a C\+\+"):
        assert resolve_impl('auto', x, p1, p2, beta) == 'eager'
    assert resolve_impl('cpp', x, p1, p2, beta) == 'eager'
    assert explain_impl('cpp', x, p1, p2, beta).startswith(
        "cpp: no C++ compiler found; runs 'eager'.")


def test_triton_unavailable_is_an_error_naming_what_is_missing(monkeypatch):
    monkeypatch.setattr(BACKENDS['triton'], 'available',
                        lambda: 'CUDA is not available and TRITON_INTERPRET is not set')
    x, p1, p2, beta = _detached()
    with pytest.raises(RuntimeError, match=r"impl='triton' cannot run: CUDA is not available"):
        acon_c(x, p1, p2, beta, impl='triton')
    with default_impl('triton'), pytest.raises(RuntimeError, match='CUDA is not available'):
        AconC(C).double()(x)


def test_auto_on_cuda_without_triton_warns_once(monkeypatch):
    """'auto' on a CUDA tensor (faked: only the device type and dtype are read) without Triton."""
    monkeypatch.setattr(BACKENDS['triton'], 'available', lambda: 'Triton is not importable')
    monkeypatch.setattr(dispatch, '_warned', set())

    class FakeCuda:
        type = 'cuda'

    x = type('X', (), {'device': FakeCuda(), 'dtype': torch.float32})()
    with pytest.warns(UserWarning, match=r"impl='auto' runs ACON-C on cuda in 'eager'.*"
                                         r"Triton is not importable\. Fix: install Triton"):
        assert choose('acon_c', 'auto', x, None, None, None)[0] == 'eager'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert choose('acon_c', 'auto', x, None, None, None)[0] == 'eager'
    monkeypatch.setattr(BACKENDS['triton'], 'available', lambda: None)
    monkeypatch.setattr(backends.triton_acon, 'supports', lambda *a: None)
    assert choose('acon_c', 'auto', x, None, None, None) == ('triton', None)


def test_impl_switch_validation_and_defaults():
    with pytest.raises(ValueError, match='unknown ACON-C impl'):
        AconC(4, impl='fast')
    with pytest.raises(ValueError, match='unknown ACON-C impl'):
        MetaAconC(4, impl='fast')
    with pytest.raises(ValueError, match='unknown ACON-C impl'):
        set_default_impl('fast')
    with pytest.raises(ValueError, match=r"unknown ACON-C impl 'fast', valid: \('auto'"):
        acon_c(*_detached(), impl='fast')
    assert check_impl('triton') == 'triton'
    before = get_default_impl()
    with default_impl('eager'):
        assert get_default_impl() == 'eager'
        x, p1, p2, beta = _detached()
        assert resolve_impl('auto', x, p1, p2, beta) == 'eager'
        assert resolve_impl('reference', x, p1, p2, beta) == 'reference'  # explicit wins
    assert get_default_impl() == before
    set_default_impl('eager')
    try:
        assert get_default_impl() == 'eager'
    finally:
        set_default_impl(before)
    assert "impl='eager'" in repr(AconC(4, impl='eager'))
