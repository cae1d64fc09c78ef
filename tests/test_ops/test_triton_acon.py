"""Triton ACON-C kernels against the float64 formula (``acon_c_reference`` through autograd).

Without CUDA they run in Triton's interpreter on CPU tensors (``tests/conftest.py`` sets
``TRITON_INTERPRET=1``), on small shapes; with CUDA the same tests run compiled on the
GPU, and the ``test_cuda_*`` ones add real sizes. ``test_kernels_compile_for_sm90_*``
compiles the kernels for an H100-class GPU even without one and checks for atomics.
"""
import importlib.util
import os
import re
import subprocess
import sys

import pytest
import torch

from mmacon.ops import triton_acon
from mmacon.ops.reference import acon_c_reference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CUDA = torch.cuda.is_available()
DEVICE = 'cuda' if CUDA else 'cpu'
needs_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device (the interpreter '
                                'runs the same kernels on CPU in the other tests)')

N, C, H, W = 2, 3, 4, 5
COEF_SHAPES = {'channel': (1, C, 1, 1), 'sample-channel': (N, C, 1, 1),
               'sample': (N, 1, 1, 1), 'pixel': (N, 1, H, W), 'scalar': (1, 1, 1, 1)}
ROLES = ('p1', 'p2', 'beta')


def make(x_shape, shapes, dtype=torch.float64, seed=0, channels_last=False, device=DEVICE):
    """x and (p1, p2, beta) of the given shapes; beta in [0, 2), |x| ~ 2."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(x_shape, generator=g, dtype=torch.float64) * 2
    p1 = torch.randn(shapes[0], generator=g, dtype=torch.float64)
    p2 = torch.randn(shapes[1], generator=g, dtype=torch.float64) * 0.5
    beta = torch.rand(shapes[2], generator=g, dtype=torch.float64) * 2
    ts = [t.to(device=device, dtype=dtype) for t in (x, p1, p2, beta)]
    if channels_last:
        fmt = torch.channels_last if len(x_shape) == 4 else torch.channels_last_3d
        ts[0] = ts[0].contiguous(memory_format=fmt)
    return ts


def reference(x, p1, p2, beta, grad):
    """Value and the four gradients of the plain formula, in float64 through autograd."""
    ts = [t.detach().double().requires_grad_() for t in (x, p1, p2, beta)]
    y = acon_c_reference(*ts)
    y.backward(grad.double())
    return [y.detach()] + [t.grad for t in ts]


def kernels(x, p1, p2, beta, grad, **flags):
    y = triton_acon.forward(x, p1, p2, beta)
    return [y, *triton_acon.backward(grad, x, p1, p2, beta, **{
        'need_x': True, 'need_p': True, 'need_beta': True, **flags})]


def assert_matches(got, want, x, p1, p2, beta, rtol=1e-12, atol=1e-12):
    names = ('y', 'grad_x', 'grad_p1', 'grad_p2', 'grad_beta')
    likes = (x, x, p1, p2, beta)
    for name, g, w, like in zip(names, got, want, likes):
        assert g.shape == like.shape, (name, g.shape, like.shape)
        assert g.dtype == like.dtype, (name, g.dtype, like.dtype)
        torch.testing.assert_close(g.double(), w, rtol=rtol, atol=atol,
                                   msg=lambda m: f'{name}: {m}')


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of 4 columns, tiles of 2 x 4, 2 tiles a backward program: several programs
    along rows and columns, tile loops and masked edges on small inputs (x (2, 5, 3, 4):
    3 x 2 backward programs a sample for contiguous x, 3 x 2 for channels-last)."""
    monkeypatch.setattr(triton_acon, '_MAX_BI', 4)
    monkeypatch.setattr(triton_acon, '_TILE', 8)
    monkeypatch.setattr(triton_acon, '_PROGRAM', 16)


# ------------------------------------------------------------------ float64: every shape


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
@pytest.mark.parametrize('role', ROLES)
@pytest.mark.parametrize('kind', list(COEF_SHAPES))
def test_every_coefficient_shape_float64(kind, role, channels_last):
    """One coefficient takes the shape, the other two stay per channel."""
    shapes = [COEF_SHAPES['channel']] * 3
    shapes[ROLES.index(role)] = COEF_SHAPES[kind]
    x, p1, p2, beta = make((N, C, H, W), shapes, channels_last=channels_last)
    grad = torch.randn_like(x)
    got = kernels(x, p1, p2, beta, grad)
    assert got[0].stride() == x.stride() and got[1].stride() == x.stride()
    assert_matches(got, reference(x, p1, p2, beta, grad), x, p1, p2, beta)


MIX_X = (2, 5, 3, 4)
MIXES = {   # p1, p2, beta against x (2, 5, 3, 4)
    'p1 channel, beta sample': ((1, 5, 1, 1), (1, 5, 1, 1), (2, 1, 1, 1)),
    'meta-acon': ((1, 5, 1, 1), (1, 5, 1, 1), (2, 5, 1, 1)),
    'all different': ((2, 1, 3, 4), (1, 1, 1, 1), (2, 5, 1, 1)),
    'full-size': ((2, 5, 3, 4), (1, 5, 3, 4), (1, 1, 3, 4)),
    'no leading ones': ((5, 1, 1), (1, 1), (1,)),
}


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
@pytest.mark.parametrize('mix', list(MIXES))
def test_broadcast_mixes_float64(mix, channels_last, tiny_blocks):
    """Independent coefficient shapes, with blocks small enough for many programs per row."""
    x, p1, p2, beta = make(MIX_X, MIXES[mix], channels_last=channels_last, seed=1)
    grad = torch.randn_like(x)
    assert_matches(kernels(x, p1, p2, beta, grad), reference(x, p1, p2, beta, grad),
                   x, p1, p2, beta)


@pytest.mark.parametrize('case', ['NC', 'NCL', 'NCL-channels-last', 'NCDHW-channels-last',
                                  'NC11'])
def test_other_ranks_float64(case):
    n, c = 3, 6
    if case == 'NC':
        x, p1, p2, beta = make((n, c), [(1, c), (n, c), (n, 1)])
    elif case == 'NC11':
        x, p1, p2, beta = make((n, c, 1, 1), [(1, c, 1, 1), (n, c, 1, 1), (n, 1, 1, 1)],
                               channels_last=True)
    elif case.startswith('NCL'):
        x, p1, p2, beta = make((n, c, 9), [(1, c, 1), (n, 1, 9), (n, c, 1)])
        if case.endswith('channels-last'):   # (N, L, C) memory seen as (N, C, L)
            x = x.transpose(1, 2).contiguous().transpose(1, 2)
    else:
        x, p1, p2, beta = make((n, c, 2, 3, 4), [(1, c, 1, 1, 1), (n, 1, 2, 3, 4),
                                                 (n, c, 1, 1, 1)], channels_last=True)
    assert triton_acon.supports(x, p1, p2, beta) is None
    grad = torch.randn_like(x)
    assert_matches(kernels(x, p1, p2, beta, grad), reference(x, p1, p2, beta, grad),
                   x, p1, p2, beta)


def test_grad_with_other_strides_and_empty_input():
    x, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1), (1, C, 1, 1), (N, 1, H, W)],
                           channels_last=True)
    grad = torch.ones(1, dtype=x.dtype, device=x.device).expand(x.shape)   # y.sum()'s grad
    assert_matches(kernels(x, p1, p2, beta, grad), reference(x, p1, p2, beta, grad),
                   x, p1, p2, beta)
    grad = torch.randn(N, C, H, W, dtype=x.dtype, device=x.device)          # contiguous
    assert_matches(kernels(x, p1, p2, beta, grad), reference(x, p1, p2, beta, grad),
                   x, p1, p2, beta)
    x, p1, p2, beta = make((0, C, H, W), [(1, C, 1, 1), (1, C, 1, 1), (1, C, 1, 1)])
    y, gx, g1, g2, gb = kernels(x, p1, p2, beta, torch.empty_like(x))
    assert y.shape == gx.shape == x.shape
    for g, like in ((g1, p1), (g2, p2), (gb, beta)):
        assert g.shape == like.shape and not g.any()


@pytest.mark.parametrize('need', [(True, False, False), (False, True, False),
                                  (False, False, True), (False, True, True)],
                         ids=['x', 'p', 'beta', 'p-beta'])
def test_need_flags_return_none_where_not_needed(need):
    x, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1), (N, 1, H, W), (N, 1, 1, 1)])
    grad = torch.randn_like(x)
    full = triton_acon.backward(grad, x, p1, p2, beta, True, True, True)
    got = triton_acon.backward(grad, x, p1, p2, beta, *need)
    wanted = (need[0], need[1], need[1], need[2])
    for g, f, w in zip(got, full, wanted):
        if w:
            assert torch.equal(g, f)
        else:
            assert g is None
    assert triton_acon.backward(grad, x, p1, p2, beta, False, False, False) == (None,) * 4


# ------------------------------------------------------------------ storage dtypes

# float32 arithmetic: the error is the output's rounding, plus float32's on large sums
TOLERANCES = {torch.float32: (1e-5, 1e-5), torch.float16: (2e-3, 2e-3),
              torch.bfloat16: (1.6e-2, 1.6e-2)}


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
@pytest.mark.parametrize('dtype', list(TOLERANCES), ids=str)
def test_low_precision_against_float64(dtype, channels_last):
    shapes = [(1, C, 1, 1), (1, C, 1, 1), (N, 1, H, W)]
    x, p1, p2, beta = make((N, C, H, W), shapes, dtype=dtype, channels_last=channels_last)
    grad = torch.randn(x.shape, dtype=torch.float64).to(device=x.device, dtype=dtype)
    rtol, atol = TOLERANCES[dtype]
    # the reference sees the same rounded inputs; coefficient gradients are sums, their
    # error scales with the largest of them
    want = reference(x, p1, p2, beta, grad)
    got = kernels(x, p1, p2, beta, grad)
    assert_matches(got[:2], want[:2], x, p1, p2, beta, rtol=rtol, atol=atol)
    for g, w, like in zip(got[2:], want[2:], (p1, p2, beta)):
        assert g.dtype == like.dtype
        torch.testing.assert_close(g.double(), w, rtol=rtol, atol=atol * (w.abs().max() + 1))


def test_float32_coefficients_with_half_input():
    """Autocast: x in float16/bfloat16, coefficients float32; out dtype as asked."""
    for dtype in (torch.float16, torch.bfloat16):
        x, _, _, _ = make((N, C, H, W), [(1,)] * 3, dtype=dtype, channels_last=True)
        _, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1), (1, C, 1, 1), (N, C, 1, 1)],
                               dtype=torch.float32)
        rtol, atol = TOLERANCES[dtype]
        grad = torch.randn(x.shape, device=x.device).to(torch.float32)
        want = reference(x, p1, p2, beta, grad)
        y = triton_acon.forward(x, p1, p2, beta)
        y32 = triton_acon.forward(x, p1, p2, beta, out_dtype=torch.float32)
        assert y.dtype == dtype and y32.dtype == torch.float32
        torch.testing.assert_close(y.double(), want[0], rtol=rtol, atol=atol)
        torch.testing.assert_close(y32.double(), want[0], rtol=1e-5, atol=1e-5)
        gx, g1, g2, gb = triton_acon.backward(grad, x, p1, p2, beta, True, True, True)
        assert gx.dtype == dtype and g1.dtype == g2.dtype == gb.dtype == torch.float32
        torch.testing.assert_close(gx.double(), want[1], rtol=rtol, atol=atol)
        for g, w in zip((g1, g2, gb), want[2:]):
            torch.testing.assert_close(g.double(), w, rtol=1e-5, atol=1e-5 * N * H * W)


# ------------------------------------------------------------------ gradcheck, determinism


class _TritonAconC(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p1, p2, beta):
        ctx.save_for_backward(x, p1, p2, beta)
        return triton_acon.forward(x, p1, p2, beta)

    @staticmethod
    def backward(ctx, grad):
        x, p1, p2, beta = ctx.saved_tensors
        need = ctx.needs_input_grad
        return triton_acon.backward(grad, x, p1, p2, beta, need[0], need[1] or need[2],
                                    need[3])


@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
def test_gradcheck_float64(channels_last):
    x, p1, p2, beta = make((2, 2, 1, 3), [(1, 2, 1, 1), (2, 1, 1, 3), (2, 1, 1, 1)],
                           channels_last=channels_last)
    ts = [t.requires_grad_() for t in (x, p1, p2, beta)]
    assert torch.autograd.gradcheck(_TritonAconC.apply, ts, fast_mode=True)


def test_repeated_backward_is_bit_identical(tiny_blocks):
    x, p1, p2, beta = make(MIX_X, [(1, 5, 1, 1), (2, 1, 3, 4), (2, 1, 1, 1)],
                           dtype=torch.float32, channels_last=True)
    grad = torch.randn_like(x)
    first = triton_acon.backward(grad, x, p1, p2, beta, True, True, True)
    second = triton_acon.backward(grad, x, p1, p2, beta, True, True, True)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_block_heuristic():
    """Fixed blocks; tiles stacked where the per-channel gradients accumulate in registers."""
    shape = (2, 256, 100, 168)
    meta = [(1, 256, 1, 1), (1, 256, 1, 1), (2, 256, 1, 1)]
    for channels_last, along_rows, tile, tiles in ((False, False, (2, 1024), 8),
                                                  (True, True, (8, 256), 8)):
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        x = torch.empty(shape, dtype=torch.bfloat16, device=DEVICE, memory_format=fmt)
        p1, p2, beta = (torch.empty(s, device=DEVICE) for s in meta)
        plan = triton_acon._plan(x, p1, p2, beta)
        assert (plan.O, plan.R, plan.I) == ((2, 256, 16800) if not channels_last
                                            else (2, 16800, 256))
        br, bi, n, rows = triton_acon._backward_blocks(plan, True, True)
        assert ((br, bi), n, rows) == (tile, tiles, along_rows)


# ------------------------------------------------------------------ support and reasons


def test_supports_names_what_is_unsupported():
    x, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1)] * 3)
    assert triton_acon.supports(x, p1, p2, beta) is None
    cases = {
        'neither contiguous nor channels-last': (x.transpose(2, 3), p1, p2, beta),
        'beta has dtype torch.int32': (x, p1, p2, beta.int()),
        'x has dtype torch.int64': (x.long(), p1, p2, beta),
        'p2 has shape (1, 3, 1, 5)': (x, p1, torch.ones(1, C, 1, W, dtype=x.dtype,
                                                           device=x.device), beta),
        'p1 has shape (1, 2, 1, 1)': (x, p1[:, :2], p2, beta),
        'p1 has shape (1, 1, 1, 3, 1, 1), more dims than x': (x, p1[None, None], p2, beta),
        'x has shape (5,)': (x.flatten()[:5], p1.flatten()[:1], p2.flatten()[:1],
                             beta.flatten()[:1]),
    }
    if not CUDA:
        cases['p1 is on meta but x is on cpu'] = (x, p1.to('meta'), p2, beta)
    for expected, args in cases.items():
        reason = triton_acon.supports(*args)
        assert reason is not None and expected in reason, (expected, reason)
        with pytest.raises(ValueError) as err:
            triton_acon.forward(*args)
        assert str(err.value) == f'mmacon.ops.triton_acon: {reason}'


def test_available_without_cuda_or_interpreter(monkeypatch):
    x, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1)] * 3, device='cpu')
    assert triton_acon.available() is None
    assert triton_acon.supports(x, p1, p2, beta) is None or CUDA
    monkeypatch.setattr(triton_acon, '_INTERPRETED', False)      # compiled kernels
    if CUDA:
        assert triton_acon.available() is None
        assert 'need CUDA tensors (or TRITON_INTERPRET=1' in triton_acon.supports(x, p1, p2, beta)
    else:
        reason = ('no CUDA device (set TRITON_INTERPRET=1 before triton is imported to run '
                  'the kernels on CPU tensors)')
        assert triton_acon.available() == reason
        assert triton_acon.supports(x, p1, p2, beta) == reason
        with pytest.raises(ValueError, match=re.escape(reason)):
            triton_acon.forward(x, p1, p2, beta)
    monkeypatch.setattr(triton_acon, '_MODE_MISMATCH', True)
    assert 'set it before anything imports triton' in triton_acon.available()


def test_without_triton_the_module_imports_and_says_why(monkeypatch):
    monkeypatch.setitem(sys.modules, 'triton', None)           # import triton -> ImportError
    monkeypatch.setitem(sys.modules, 'triton.language', None)
    spec = importlib.util.spec_from_file_location('_triton_acon_without_triton',
                                                  triton_acon.__file__)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    reason = module.available()
    assert reason.startswith('triton is not installed')
    x, p1, p2, beta = make((N, C, H, W), [(1, C, 1, 1)] * 3)
    assert module.supports(x, p1, p2, beta) == reason
    with pytest.raises(ValueError, match='triton is not installed'):
        module.forward(x, p1, p2, beta)


# ------------------------------------------------------------------ the compiled GPU kernels

_COMPILE_SCRIPT = r"""
import re, torch, triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from mmacon.ops import triton_acon as T
assert not T._INTERPRETED and T.available() is None or not torch.cuda.is_available()
T._INTERPRETED = True     # plan CPU tensors; the kernels stay the compiled ones
PTR = {torch.float32: '*fp32', torch.float16: '*fp16', torch.bfloat16: '*bf16',
       torch.float64: '*fp64'}
n, c, h, w = 2, 8, 5, 6
for dtype, fmt in ((torch.bfloat16, torch.channels_last), (torch.float64, torch.contiguous_format)):
    x = torch.randn(n, c, h, w, dtype=dtype).contiguous(memory_format=fmt)
    coefs = torch.randn(1, c, 1, 1), torch.randn(n, c, 1, 1), torch.randn(n, 1, h, w)
    plan = T._plan(x, *coefs)
    for kernel, _, args, const, *_ in (
            T._forward_launch(plan, x, torch.empty_like(x)),
            T._backward_launch(plan, x, x, torch.empty_like(x), True, True, True)):
        assert isinstance(kernel, triton.runtime.jit.JITFunction), type(kernel)
        sig = {k: PTR[v.dtype] if isinstance(v, torch.Tensor) else 'i32'
               for k, v in zip(kernel.arg_names, args)}
        sig.update({k: 'constexpr' for k in const})
        out = triton.compile(ASTSource(fn=kernel, signature=sig, constexprs=const),
                             target=GPUTarget('cuda', 90, 32),
                             options={'num_warps': T._NUM_WARPS})
        ptx = out.asm['ptx']
        assert out.asm['cubin'] and re.search(r'\b(atom|red)\.', ptx) is None
        print('compiled', kernel.fn.__name__, dtype, len(out.asm['cubin']))
"""


def test_kernels_compile_for_sm90_without_atomics():
    """The compiled (not interpreted) kernels build a cubin for sm_90 without a GPU
    (Triton's compiler and its bundled ptxas), and their PTX has no atomic or
    reduction-to-memory instruction: the reductions are the two-stage ones."""
    pytest.importorskip('triton')
    from triton.backends import backends
    if 'nvidia' not in backends:
        pytest.skip("this triton has no 'nvidia' backend to compile for")
    env = {k: v for k, v in os.environ.items() if k != 'TRITON_INTERPRET'}
    env['PYTHONPATH'] = os.pathsep.join([ROOT] + [p for p in [env.get('PYTHONPATH')] if p])
    done = subprocess.run([sys.executable, '-c', _COMPILE_SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('compiled') == 4, done.stdout


# ------------------------------------------------------------------ CUDA, real sizes


@needs_cuda
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
def test_cuda_real_size_against_float64(dtype, channels_last):
    shape = (8, 64, 56, 56)
    n, c, h, w = shape
    for shapes in ([(1, c, 1, 1)] * 3, [(1, c, 1, 1), (1, c, 1, 1), (n, c, 1, 1)],
                   [(1, c, 1, 1), (1, c, 1, 1), (n, 1, h, w)], [(1, c, 1, 1), (n, 1, 1, 1),
                                                                (1, 1, 1, 1)]):
        x, p1, p2, beta = make(shape, shapes, dtype=dtype, channels_last=channels_last,
                               device='cuda')
        grad = torch.randn(shape, device='cuda').to(dtype)
        want = reference(x, p1, p2, beta, grad)
        got = kernels(x, p1, p2, beta, grad)
        rtol, atol = TOLERANCES[dtype]
        assert_matches(got[:2], want[:2], x, p1, p2, beta, rtol=rtol, atol=atol)
        for g, wnt in zip(got[2:], want[2:]):
            scale = wnt.abs().max().item() + 1
            torch.testing.assert_close(g.double(), wnt, rtol=rtol, atol=atol * scale)


@needs_cuda
@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
def test_cuda_repeated_backward_is_bit_identical(channels_last):
    shape = (2, 256, 100, 168)
    n, c, h, w = shape
    x, p1, p2, beta = make(shape, [(1, c, 1, 1), (n, 1, h, w), (n, c, 1, 1)],
                           dtype=torch.float32, channels_last=channels_last, device='cuda')
    grad = torch.randn_like(x)
    runs = [triton_acon.backward(grad, x, p1, p2, beta, True, True, True) for _ in range(3)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert torch.equal(a, b)
