"""mmacon/ops/triton_meta_acon.py: the fused Triton Meta-ACON node against the module path.

Without CUDA the kernels run in Triton's interpreter on CPU tensors (``tests/conftest.py``
sets ``TRITON_INTERPRET=1`` before triton is imported); with CUDA the same tests run
compiled on the GPU, and the ``test_cuda_*`` ones add real sizes. Torch alone (no
mmengine/mmcv): :class:`Meta` holds MetaAconC's channel-wise parameters and generator
modules under the same names and runs either this node or the module path's ops (mean,
fc1, bn1, fc2, bn2, sigmoid, the ACON-C formula) on the same device, in float64 (the
hook in MetaAconC.forward is tested in tests/test_models/test_activations/
test_meta_acon.py). Shapes stay tiny (the interpreter is slow), and most tests share one
shape (one program a sample), so that the GPU compiles few kernel variants;
``tiny_blocks`` splits a tiny map over many programs.
"""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmacon.ops import choose, default_impl, triton_acon, triton_meta_acon
from tests.test_ops.helpers import saved_bytes

CUDA = torch.cuda.is_available()
DEVICE = 'cuda' if CUDA else 'cpu'
needs_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device (the interpreter '
                                'runs the same kernels on CPU in the other tests)')
pytestmark = pytest.mark.skipif(triton_meta_acon.available() is not None,
                                reason=f'Triton cannot run here: {triton_meta_acon.available()}')

NORMS = {
    'bn': dict(),
    'none': None,
    'bn-no-affine': dict(affine=False),
    'bn-cumulative': dict(momentum=None),
    'bn-no-stats': dict(track_running_stats=False),
}
N, C, H, W = 2, 8, 3, 5   # hidden width max(4, 8 // 4) = 4


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Tiles of 2 x 4, 2 tiles a reduction program: several programs along rows and
    columns, tile loops and masked edges on small inputs (the block sizes of
    test_triton_acon.py's tiny_blocks, so the GPU reuses those ACON-C kernels)."""
    monkeypatch.setattr(triton_acon, '_MAX_BI', 4)
    monkeypatch.setattr(triton_acon, '_TILE', 8)
    monkeypatch.setattr(triton_acon, '_PROGRAM', 16)


class Meta(nn.Module):
    """Meta-ACON-C with the channel-wise generator (reduction 4), fused or the module path.

    ``running``: per norm, normalise with the running statistics in training (MetaAconC's
    fallback for one value per channel).
    """

    def __init__(self, c, norm='bn', fused=True, running=(False, False)):
        super().__init__()
        hidden = max(4, c // 4)
        self.p1 = nn.Parameter(torch.randn(1, c, 1, 1))
        self.p2 = nn.Parameter(torch.randn(1, c, 1, 1))
        self.fc1 = nn.Conv2d(c, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, c, 1)
        cfg = NORMS[norm]
        self.bn1 = nn.Identity() if cfg is None else nn.BatchNorm2d(hidden, **cfg)
        self.bn2 = nn.Identity() if cfg is None else nn.BatchNorm2d(c, **cfg)
        self.fused, self.running = fused, running

    def forward(self, x):
        if self.fused:
            return triton_meta_acon.meta_acon_c(x, self.p1, self.p2, self.fc1, self.bn1,
                                                self.fc2, self.bn2, self.running)
        mean = x.sum((2, 3), keepdim=True) / (x.size(2) * x.size(3))
        y = self._norm(self.bn1, self.fc1(mean), self.running[0])
        beta = torch.sigmoid(self._norm(self.bn2, self.fc2(y), self.running[1]))
        d = self.p1 - self.p2
        return d * x * torch.sigmoid(beta * d * x) + self.p2 * x

    @staticmethod
    def _norm(norm, y, running):
        if running:
            return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight,
                                norm.bias, False, 0.0, norm.eps)
        return norm(y)

    def supports(self, x, impl='triton'):
        """None when the backend table gives this call to the Triton node, else why not."""
        name, why = choose('meta_acon_fused', impl, x, self.p1, self.p2, self.fc1, self.bn1,
                           self.fc2, self.bn2)
        return None if name == 'triton' else (why or f'the table picks {name!r}')


def _module(norm='bn', dtype=torch.float64, c=C, seed=0, running=(False, False)):
    """(fused, module path): the same Meta, with non-trivial running statistics and
    affine parameters."""
    torch.manual_seed(seed)
    m = Meta(c, norm, running=running).to(DEVICE, dtype)
    with torch.no_grad():
        for name, t in m.named_buffers():
            if name.endswith('running_mean'):
                t.normal_()
            elif name.endswith('running_var'):
                t.uniform_(0.5, 2.0)
        for name, p in m.named_parameters():
            if name.startswith('bn'):
                p.normal_()
    ref = copy.deepcopy(m)
    ref.fused = False
    return m, ref


def _inputs(n=N, c=C, dtype=torch.float64, channels_last=False, h=H, w=W, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2
    go = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return [t.to(DEVICE, dtype).contiguous(memory_format=fmt) for t in (x, go)]


def _step(m, x, go):
    """Output, grad of x, of every parameter, and every buffer after one step."""
    x = x.detach().clone().requires_grad_()
    y = m(x)
    y.backward(go)
    return ([y.detach(), x.grad] + [p.grad.clone() for p in m.parameters()]
            + [b.clone() for b in m.buffers()])


def _assert_all_close(got, expected, tol=1e-10):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


# ------------------------------------------------------------------ against the module path


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
@pytest.mark.parametrize('norm', ['bn', 'none'])
def test_fused_equals_module_path_float64(norm, channels_last):
    """Output, every gradient and every buffer (running statistics, num_batches_tracked):
    two training steps (the running statistics move), then one in eval mode (without a
    norm, train and eval are the same: one step)."""
    fused, ref = _module(norm)
    x, go = _inputs(channels_last=channels_last)
    assert fused.supports(x) is None
    for training in (True, True, False) if norm == 'bn' else (True,):
        fused.train(training)
        ref.train(training)
        got = _step(fused, x, go)
        _assert_all_close(got, _step(ref, x, go))
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        assert got[0].is_contiguous(memory_format=fmt)
        assert got[1].stride() == x.stride()
    if norm == 'bn':
        assert int(fused.bn1.num_batches_tracked) == int(fused.bn2.num_batches_tracked) == 2


@pytest.mark.parametrize('norm', ['bn-no-affine', 'bn-cumulative', 'bn-no-stats'])
def test_other_batch_norms_train_as_the_module_path(norm):
    """No affine, the cumulative average (momentum=None), no running statistics."""
    fused, ref = _module(norm)
    x, go = _inputs()
    _assert_all_close(_step(fused, x, go), _step(ref, x, go))


def test_many_programs_a_map(tiny_blocks):
    """Blocks of 2 x 4: the spatial sums, the reductions and grad_x over several
    programs along rows and columns, with tile loops and masked edges, both layouts."""
    fused, ref = _module(c=4)
    for channels_last in (False, True):   # (2, 4, 15) / (2, 15, 4): 8 / 16 ACON-C programs
        x, go = _inputs(c=4, channels_last=channels_last)
        _assert_all_close(_step(fused, x, go), _step(ref, x, go))


def test_frozen_generator_and_input_without_grad():
    """A frozen generator still passes beta's share of the gradient to x; an x that needs
    no gradient still gives every parameter's."""
    fused, ref = _module()
    x, go = _inputs()
    got, expected = [], []
    for m, out in ((fused, got), (ref, expected)):
        for name, p in m.named_parameters():
            p.requires_grad_(name in ('p1', 'p2'))
        xi = x.clone().requires_grad_()
        m(xi).backward(go)
        out += [xi.grad, m.p1.grad, m.p2.grad]
    _assert_all_close(got, expected)
    assert fused.fc1.weight.grad is None and fused.bn2.bias.grad is None
    fused, ref = _module()
    got, expected = [], []
    for m, out in ((fused, got), (ref, expected)):
        m(x).backward(go)
        out += [p.grad for p in m.parameters()]
    _assert_all_close(got, expected)


def test_running_statistics_in_training_for_one_value_per_channel():
    """MetaAconC's fallback for a batch of one: the BNs in training normalise with their
    running statistics and leave them (and num_batches_tracked) unchanged."""
    fused, ref = _module(running=(True, True))
    x, go = _inputs(n=1)
    _assert_all_close(_step(fused, x, go), _step(ref, x, go))
    assert int(fused.bn1.num_batches_tracked) == 0  # not a training step of the BN


@pytest.mark.parametrize('use_reentrant', [False, True])
def test_checkpointed_block_steps_running_statistics_as_the_module_path(use_reentrant):
    """Under checkpointing the block runs twice (forward, then recomputed in backward):
    the BNs step twice on both paths; the kept generator graph is not recomputed again."""
    fused, ref = _module()
    x, go = _inputs()
    conv0 = nn.Conv2d(C, C, 1).to(DEVICE, torch.float64)
    results = []
    for m in (fused, ref):
        conv = copy.deepcopy(conv0)
        xi = x.clone().requires_grad_()
        y = torch.utils.checkpoint.checkpoint(lambda t: m(conv(t)), xi,
                                              use_reentrant=use_reentrant)
        y.backward(go)
        results.append([y.detach(), xi.grad, conv.weight.grad]
                       + [p.grad for p in m.parameters()] + list(m.buffers()))
    _assert_all_close(*results)
    assert int(fused.bn1.num_batches_tracked) == int(fused.bn2.num_batches_tracked) == 2


def test_retained_graph_runs_backward_twice():
    fused, ref = _module()
    x, go = _inputs()
    results = []
    for m in (fused, ref):
        xi = x.clone().requires_grad_()
        y = m(xi)
        y.backward(go, retain_graph=True)
        y.backward(go)
        results.append([xi.grad] + [p.grad for p in m.parameters()])
    _assert_all_close(*results)


def test_no_grad_forward_equals_module_path_and_steps_statistics_once():
    fused, ref = _module()
    x, _ = _inputs(channels_last=True)
    with torch.no_grad():
        y, y_ref = fused(x), ref(x)
    _assert_all_close([y] + list(fused.buffers()), [y_ref] + list(ref.buffers()))
    assert int(fused.bn1.num_batches_tracked) == 1


# ------------------------------------------------------------------ determinism, gradcheck


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
def test_bit_identical_repeats(channels_last):
    """Fixed partitions and summation orders (float64: the kernels the other tests use)."""
    fused, _ = _module()
    x, go = _inputs(channels_last=channels_last)
    first = _step(copy.deepcopy(fused), x, go)
    second = _step(copy.deepcopy(fused), x, go)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_gradcheck_every_input_and_parameter():
    """gradcheck of x, p1, p2, fc1/fc2 weights and biases and the BN affine parameters,
    through the one node, in training mode (batch statistics)."""
    fused, _ = _module()
    x, _ = _inputs()
    named = list(fused.named_parameters())
    flat = torch.cat([p.detach().flatten() for _, p in named]).requires_grad_()

    def fn(x, flat):   # every parameter from one vector: one finite difference for all
        ps = flat.split([p.numel() for _, p in named])
        params = {n: v.view_as(p) for (n, p), v in zip(named, ps)}
        return torch.func.functional_call(fused, params, (x,))

    assert fused.supports(x) is None
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(), flat), fast_mode=True)


# ------------------------------------------------------------------ dtypes, memory


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16, torch.float32], ids=str)
def test_low_precision_input_against_float64(dtype):
    """x, its gradient and the output in x's dtype, float32 arithmetic. With a float32
    generator (autocast's parameters): the float64 module path on the same (rounded)
    inputs, to x's rounding. With the whole module in bfloat16: as close to float64 as
    the module path in bfloat16 (to within 2x, or bfloat16's tolerance)."""
    fused, ref = _module(dtype=torch.float32)
    x, go = _inputs(dtype=dtype, channels_last=True)
    expected = _step(copy.deepcopy(ref).double(), x.double(), go.double())
    tol = {torch.float32: 1e-5, torch.float16: 4e-3, torch.bfloat16: 3e-2}[dtype]
    got = _step(copy.deepcopy(fused), x, go)
    assert got[0].dtype == got[1].dtype == dtype
    assert got[0].is_contiguous(memory_format=torch.channels_last)
    assert all(g.dtype == p.dtype for g, p in zip(got[2:], fused.parameters()))
    for a, b in zip(got, expected):
        scale = max(1.0, b.abs().max().item())
        torch.testing.assert_close(a.double(), b.double(), rtol=tol, atol=tol * scale)
    if dtype != torch.bfloat16:   # (float16 alike: fewer kernel variants for the GPU)
        return
    got = _step(copy.deepcopy(fused).to(dtype), x, go)
    module = _step(copy.deepcopy(ref).to(dtype), x, go)
    for a, b, t in zip(got, module, expected):
        assert a.dtype == b.dtype
        scale = max(1.0, t.abs().max().item())
        err, err_module = ((v.double() - t).abs().max().item() / scale for v in (a, b))
        assert err <= max(tol, 2 * err_module), (err, err_module)


def test_saves_x_and_small_tensors_only():
    fused, _ = _module()
    x = _inputs()[0].requires_grad_()
    nbytes, out = saved_bytes(fused, x)
    # x, p1, p2 and beta (N, C); the generator's graph keeps its own (N, C)-sized tensors
    assert nbytes == (x.numel() + 2 * C + N * C) * 8
    out.sum().backward()
    assert x.grad is not None


# ------------------------------------------------------------------ when it is taken


def test_supports_names_each_reason(monkeypatch):
    m, _ = _module()
    x, _ = _inputs()
    assert m.supports(x) is None
    assert "impl='eager'" in m.supports(x, 'eager')
    if not CUDA:  # 'auto' on CPU: the C++ node
        assert m.supports(x, 'auto') == "the table picks 'cpp'"
    with default_impl('triton'):
        assert m.supports(x, 'auto') is None
    assert "'triton' takes float16, bfloat16, float32, float64" in m.supports(x.int())
    assert 'not a float16/bfloat16/float32/float64 non-empty' in m.supports(x[:0])
    assert 'neither contiguous nor channels_last' in m.supports(x.transpose(2, 3))
    gn = copy.deepcopy(m)
    gn.bn1 = nn.GroupNorm(2, 4).to(DEVICE, torch.float64)
    assert 'bn1 is a GroupNorm' in gn.supports(x)
    handle = m.bn2.register_forward_hook(lambda *a: None)
    assert 'bn2 has hooks' in m.supports(x)
    handle.remove()
    handle = nn.modules.module.register_module_forward_hook(lambda *a: None)
    try:
        assert 'global module hooks' in m.supports(x)
    finally:
        handle.remove()
    mixed = copy.deepcopy(m)
    mixed.fc2.float()
    assert 'torch.float32 on' in mixed.supports(x) and 'one dtype' in mixed.supports(x)

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Spy():
        assert 'TorchDispatchMode' in m.supports(x)
    assert m.supports(x) is None
    monkeypatch.setattr(triton_meta_acon, '_INTERPRETED', not triton_acon._INTERPRETED)
    assert 'set it before anything imports triton' in m.supports(x)


# ------------------------------------------------------------------ CUDA, real sizes


@needs_cuda
@pytest.mark.parametrize('dtype, channels_last', [(torch.float32, False),
                                                  (torch.bfloat16, True)],
                         ids=['float32-nchw', 'bfloat16-nhwc'])
def test_cuda_real_size_auto_against_float64(dtype, channels_last):
    """impl='auto' on CUDA takes the fused node; 8x64x56x56 against the float64 module path
    (float32 parameters, as under autocast)."""
    fused, ref = _module(dtype=torch.float32, c=64)
    x, go = _inputs(n=8, c=64, h=56, w=56, dtype=dtype, channels_last=channels_last)
    assert fused.supports(x, 'auto') is None
    expected = _step(ref.double(), x.double(), go.double())
    got = _step(fused, x, go)
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    for a, b in zip(got, expected):
        scale = max(1.0, b.abs().max().item())
        torch.testing.assert_close(a.double(), b.double(), rtol=tol, atol=tol * scale)


@needs_cuda
def test_cuda_autocast_bf16_and_bit_identical_repeats():
    """A conv under bf16 autocast feeding the fused node: twice bit-identical, and as the
    module path under autocast to bfloat16's rounding."""
    fused, ref = _module(dtype=torch.float32, c=64)
    conv = nn.Conv2d(64, 64, 3, padding=1).cuda()
    x, go = _inputs(n=8, c=64, h=56, w=56, dtype=torch.float32, channels_last=True)
    runs = []
    for m in (fused, fused, ref):
        m = copy.deepcopy(m)
        xi = x.clone().requires_grad_()
        with torch.autocast('cuda', dtype=torch.bfloat16):
            y = m(conv(xi))
        assert y.dtype == torch.bfloat16
        y.float().backward(go)
        runs.append([y.float(), xi.grad] + [p.grad for p in m.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    for a, b in zip(runs[0], runs[2]):
        scale = max(1.0, b.abs().max().item())
        torch.testing.assert_close(a, b, rtol=3e-2, atol=3e-2 * scale)
