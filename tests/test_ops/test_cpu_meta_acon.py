"""mmacon/ops/cpu_meta_acon.py: Meta-ACON's fused CPU generator against the module path."""
import copy
import warnings

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmacon.models.activations import MetaAconC
from mmacon.ops import cpu_acon, cpu_meta_acon, default_impl
from tests.test_ops.helpers import saved_bytes

pytestmark = pytest.mark.skipif(cpu_acon.available() is not None,
                                reason=f'no CPU kernel here: {cpu_acon.available()}')

NORMS = {
    'bn': dict(type='BN'),
    'none': None,
    'bn-no-affine': dict(type='BN', affine=False),
    'bn-cumulative': dict(type='BN', momentum=None),
    'bn-no-stats': dict(type='BN', track_running_stats=False),
}


def _module(norm, dtype=torch.float64, c=12, seed=0):
    torch.manual_seed(seed)
    m = MetaAconC(c, reduction=4, norm_cfg=NORMS[norm]).to(dtype)
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for name, t in m.named_buffers():
            if name.endswith('running_mean'):
                t.normal_()
            elif name.endswith('running_var'):
                t.uniform_(0.5, 2.0)
        for name, p in m.named_parameters():
            if name.startswith('bn'):
                p.normal_()
    return m


def _step(m, x, go):
    """Output, grad of x, of every parameter, and every buffer after one step."""
    x = x.detach().clone().requires_grad_()
    y = m(x)
    y.backward(go)
    return ([y.detach(), x.grad] + [p.grad.clone() for p in m.parameters()]
            + [b.clone() for b in m.buffers()])


def _module_path(m, x, go):
    """The same step through generate_beta and acon_c (impl='eager' skips the fused path)."""
    with default_impl('eager'):
        assert m.explain_fused(x) is not None
        return _step(m, x, go)


def _inputs(n, c=12, dtype=torch.float64, channels_last=False, h=5, w=7):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, c, h, w, generator=g, dtype=dtype) * 2
    go = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    if channels_last:
        x, go = x.contiguous(memory_format=torch.channels_last), go.contiguous(
            memory_format=torch.channels_last)
    return x, go


@pytest.mark.parametrize('norm', list(NORMS))
@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('threads', [1, 2])
def test_fused_equals_module_path_float64(norm, training, channels_last, threads, monkeypatch):
    """Output, every gradient and every buffer, over two steps (running statistics move)."""
    monkeypatch.setattr(cpu_acon, '_PARALLEL_MIN', 0 if threads > 1 else 1 << 40)
    fused = _module(norm).train(training)
    ref = copy.deepcopy(fused)
    x, go = _inputs(4, channels_last=channels_last)
    assert fused.explain_fused(x) is None
    for _ in range(2):
        got, expected = _step(fused, x, go), _module_path(ref, x, go)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype and a.shape == b.shape
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert fused(x).is_contiguous(memory_format=fmt)


def test_running_statistics_move_as_torch_batchnorm():
    """Momentum 0.1 and the cumulative average (momentum=None), unbiased variance."""
    for norm in ('bn', 'bn-cumulative'):
        m = _module(norm).train()
        x, _ = _inputs(4)
        before = m.bn2.running_mean.clone()
        m(x)
        assert not torch.equal(m.bn2.running_mean, before)
        assert int(m.bn1.num_batches_tracked) == int(m.bn2.num_batches_tracked) == 1
        ref = _module(norm).train()
        with default_impl('eager'):
            ref(x)
        for a, b in zip(m.buffers(), ref.buffers()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('channels_last', [False, True])
def test_float32_is_as_close_to_float64_as_the_module_path(channels_last):
    m64 = _module('bn').train()
    m32 = copy.deepcopy(m64).float()
    ref32 = copy.deepcopy(m32)
    x, go = _inputs(6, channels_last=channels_last, h=9, w=8)
    truth = _module_path(m64, x, go)
    got = _step(m32, x.float(), go.float())
    module = _module_path(ref32, x.float(), go.float())
    for t, a, b in zip(truth, got, module):
        if not t.is_floating_point():  # num_batches_tracked
            assert torch.equal(a, t) and torch.equal(b, t)
            continue
        assert a.dtype == torch.float32
        scale = max(1.0, t.abs().max().item())
        err_fused = (a.double() - t).abs().max().item() / scale
        err_module = (b.double() - t).abs().max().item() / scale
        assert err_fused <= max(1e-6, 2 * err_module), (err_fused, err_module)


def test_float32_bitwise_deterministic_two_threads(monkeypatch):
    monkeypatch.setattr(cpu_acon, '_PARALLEL_MIN', 0)
    m = _module('bn', torch.float32, c=32).train()
    x, go = _inputs(4, c=32, dtype=torch.float32, h=20, w=24)
    first = _step(copy.deepcopy(m), x, go)
    second = _step(copy.deepcopy(m), x, go)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_gradcheck_through_the_fused_node():
    m = _module('bn').train()
    x, _ = _inputs(3, h=3, w=4)
    x.requires_grad_()
    assert m.explain_fused(x) is None
    assert torch.autograd.gradcheck(m, (x,))
    p1, p2 = (t.detach().clone().requires_grad_() for t in (m.p1, m.p2))
    assert torch.autograd.gradcheck(
        lambda a, b: cpu_meta_acon.meta_acon_c(x.detach(), a, b, m.fc1, m.bn1, m.fc2, m.bn2),
        (p1, p2))


def test_frozen_generator_still_passes_the_mean_gradient_to_x():
    """A frozen stage: generator without requires_grad, x still gets beta's share."""
    m = _module('bn').eval()
    ref = copy.deepcopy(m)
    for mod in (m, ref):
        for p in mod.parameters():
            p.requires_grad_(False)
    x, go = _inputs(4)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    m(xa).backward(go)
    with default_impl('eager'):
        ref(xb).backward(go)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-10)
    assert all(p.grad is None for p in m.parameters())


def test_batch_of_one_in_training_uses_running_statistics_like_the_module_path():
    m = _module('bn').train()
    ref = copy.deepcopy(m)
    x, go = _inputs(1)
    with pytest.warns(UserWarning, match=r"generator's bn1 .* single value per channel"):
        got = _step(m, x, go)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        expected = _module_path(ref, x, go)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert int(m.bn1.num_batches_tracked) == 0  # not a training step of the BN


def test_batch_of_one_without_running_statistics_raises_as_the_module_path():
    m = _module('bn-no-stats').train()
    x, _ = _inputs(1)
    with pytest.raises(ValueError, match='track_running_stats=False') as fused:
        m(x)
    with default_impl('eager'), pytest.raises(ValueError) as module:
        m(x)
    assert str(fused.value) == str(module.value)


def test_saves_x_and_small_tensors_only():
    m = _module('bn', torch.float32, c=64).train()
    x = torch.randn(4, 64, 32, 32, requires_grad=True)
    nbytes, out = saved_bytes(m, x)
    assert x.numel() * 4 <= nbytes <= 1.05 * x.numel() * 4
    out.sum().backward()


def test_supports_names_each_reason():
    x, _ = _inputs(2)
    m = _module('bn')
    assert m.explain_fused(x) is None
    with default_impl('reference'):
        assert m.explain_fused(x) == "impl='reference' has no fused node (those: cpp, triton)"
    assert "impl='eager'" in MetaAconC(12, reduction=4, impl='eager').double().explain_fused(x)
    assert m.explain_fused(x[:0]).startswith('cpp: x is a torch.float64 (0, 12, 5, 7) tensor')
    assert 'torch.float64 on cpu, x is torch.float16 on cpu' in m.explain_fused(x.half())
    assert m.explain_fused(x.long()) == (
        "cpp: x is torch.int64; 'cpp' takes float16, bfloat16, float32, float64")
    bf16 = _module('bn').bfloat16()  # model.bfloat16(): parameters must stay float32
    assert 'in torch.float32 for it' in bf16.explain_fused(x.bfloat16())
    assert _module('bn').float().explain_fused(x.bfloat16()) is None  # autocast
    m = _module('bn')
    assert 'neither contiguous nor channels_last' in m.explain_fused(x.transpose(2, 3))
    assert "mode='layer'" in MetaAconC(12, mode='layer').double().explain_fused(x)
    gn = MetaAconC(12, reduction=4, norm_cfg=dict(type='GN', num_groups=2)).double()
    assert 'bn1 is a GroupNorm' in gn.explain_fused(x)
    handle = m.bn2.register_forward_hook(lambda *a: None)
    assert 'bn2 has hooks' in m.explain_fused(x)
    handle.remove()
    handle = nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert 'global module hooks' in m.explain_fused(x)
    finally:
        handle.remove()
    mixed = _module('bn')
    mixed.fc2.float()
    assert 'torch.float32 on cpu, x is torch.float64' in mixed.explain_fused(x)

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Spy():
        assert 'TorchDispatchMode' in m.explain_fused(x)
    assert m.explain_fused(x) is None


def test_hooks_on_the_generator_norms_still_fire():
    """A forward hook on bn1 (e.g. a profiler's) sends the call down the module path."""
    m = _module('bn').train()
    seen = []
    m.bn1.register_forward_hook(lambda mod, inp, out: seen.append(tuple(out.shape)))
    x, _ = _inputs(4)
    m(x)
    assert seen == [(4, 4, 1, 1)]  # hidden width max(r, C // r) = 4


@pytest.mark.parametrize('with_cp', [False, True])
@pytest.mark.parametrize('norm_eval', [True, False])
def test_backbone_with_frozen_stage_equals_module_path(with_cp, norm_eval):
    """A Meta-ACON ResNet-18 as detectors train it: frozen stem and stage 1, BNs in eval
    or not (the generators' with them), checkpointed blocks (run twice in backward, as
    upstream's); every trainable gradient and every buffer as the module path."""
    from mmacon.models import AconResNet
    torch.manual_seed(0)
    net = AconResNet(depth=18, base_channels=16, frozen_stages=1, norm_eval=norm_eval,
                     with_cp=with_cp, out_indices=(0, 1, 2, 3)).double().train()
    ref = copy.deepcopy(net)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    acts = [m for m in net.modules() if isinstance(m, MetaAconC)]
    assert len(acts) == 16 and all(a.explain_fused(torch.randn(1, a.channels, 4, 4,
                                                                dtype=torch.float64)) is None
                                   for a in acts)

    def grads(model):
        model.zero_grad(set_to_none=True)
        sum(o.square().mean() for o in model(x)).backward()
        return {n: p.grad for n, p in model.named_parameters() if p.requires_grad}

    got = grads(net)
    with default_impl('eager'):
        expected = grads(ref)
    assert got.keys() == expected.keys() and any('layer2.0.acon1.fc1' in k for k in got)
    assert not any(k.startswith('layer1.') for k in got)  # frozen with its stage
    for k in got:
        # float64 rounding, amplified through 8 blocks of train-mode BN at N=2: compare
        # against each gradient's own scale (fc1.bias: 0 in theory under a train-mode BN,
        # ~1e-11 of noise on the module path)
        scale = expected[k].abs().max().item()
        torch.testing.assert_close(got[k], expected[k], rtol=0, atol=1e-9 * max(scale, 1.0),
                                   msg=k)
    for (name, a), b in zip(net.named_buffers(), ref.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)
    relu = AconResNet(depth=18, base_channels=16, frozen_stages=1, norm_eval=norm_eval,
                      with_cp=with_cp, out_indices=(0, 1, 2, 3), act_cfg=None).double().train()
    grads(relu)  # the upstream ResNet's count of BN steps (a checkpointed block: 2)
    count = int(relu.layer4[0].bn1.num_batches_tracked)
    assert count == (2 if with_cp and not norm_eval else 1 if not norm_eval else 0)
    for block in (net.layer2[0], net.layer4[0]):  # the generators step as their block's BNs
        assert int(block.acon1.bn1.num_batches_tracked) == int(block.bn1.num_batches_tracked)
    assert int(net.layer4[0].acon1.bn2.num_batches_tracked) == count
    moved = any(not torch.equal(b, b0) for b, b0 in zip(
        net.layer2[0].acon1.bn1.buffers(), AconResNet(depth=18, base_channels=16).double()
        .layer2[0].acon1.bn1.buffers()))
    assert moved == (not norm_eval)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('training', [True, False])
def test_low_precision_input_with_float32_module(dtype, channels_last, training):
    """bf16/fp16 x (autocast) into a float32 module: fused, against float64 and float32.

    y is the float32 fused node's output on x.float(), rounded once; grad_x within an ulp
    (it is written, then the mean's gradient added, in x's dtype); the parameters'
    gradients and the running statistics as the float32 node's; x's dtype kept.
    """
    x, go = _inputs(4, channels_last=channels_last)
    x, go = x.to(dtype), go.to(dtype)
    m = _module('bn').float().train(training)
    m32, m64 = copy.deepcopy(m), copy.deepcopy(m).double()
    assert m.explain_fused(x) is None
    got = _step(m, x, go)
    f32 = _step(m32, x.float(), go.float())
    f64 = _step(m64, x.double(), go.double())
    assert got[0].dtype == got[1].dtype == dtype
    assert got[0].is_contiguous(memory_format=torch.channels_last if channels_last
                                else torch.contiguous_format)
    assert torch.equal(got[0], f32[0].to(dtype))
    ulp = {torch.bfloat16: 2.0 ** -7, torch.float16: 2.0 ** -10}[dtype]
    err = (got[1].double() - f64[1]).abs()
    assert (err <= f64[1].abs() * ulp + 1e-3 * f64[1].abs().max()).all(), err.max().item()
    for a, b, c in zip(got[2:], f32[2:], f64[2:]):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a.double(), c.double(), rtol=2e-3,
                                   atol=2e-3 * c.abs().max().item() + 1e-6)
