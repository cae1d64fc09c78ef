"""AconA / AconB / AconC: values against the paper's formula in float64, gradients, special cases."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmacon.models.activations import AconA, AconB, AconC
from mmacon.ops import BACKENDS, default_impl
from tests.test_models.test_activations.empty_input import (DTYPES, EMPTY_SHAPES,
                                                            check_empty_input)

# every test here runs once per ACON-C implementation (conftest.py)
pytestmark = pytest.mark.usefixtures('acon_impl')


def numpy_acon_c(x, p1, p2, beta):
    """Eq. (7) of the paper written independently in numpy float64."""
    x, p1, p2, beta = (np.asarray(t, dtype=np.float64) for t in (x, p1, p2, beta))
    dpx = (p1 - p2) * x
    return dpx / (1.0 + np.exp(-beta * dpx)) + p2 * x


def randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def test_aconc_matches_formula_float64():
    torch.manual_seed(0)
    m = AconC(6).double()
    x = torch.randn(3, 6, 5, 4, dtype=torch.float64) * 3
    expected = numpy_acon_c(x.numpy(), m.p1.detach().numpy(), m.p2.detach().numpy(),
                            m.beta.detach().numpy())
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize('shape', [(4, 6), (2, 6, 7), (2, 6, 3, 3, 2)])
def test_aconc_other_ranks_broadcast_per_channel(shape):
    m = randomise(AconC(6).double(), seed=1)
    x = torch.randn(*shape, dtype=torch.float64)
    view = (1, 6) + (1,) * (len(shape) - 2)
    expected = numpy_acon_c(x.numpy(), m.p1.detach().view(view).numpy(),
                            m.p2.detach().view(view).numpy(), m.beta.detach().view(view).numpy())
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=0, atol=1e-12)


def test_aconc_gradcheck():
    m = randomise(AconC(3).double(), seed=2)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))
    # and with respect to the parameters
    def f(x, p1, p2, beta):
        return torch.func.functional_call(m, {'p1': p1, 'p2': p2, 'beta': beta}, (x,))
    params = [t.detach().clone().requires_grad_() for t in (m.p1, m.p2, m.beta)]
    assert torch.autograd.gradcheck(f, (x, *params))


def test_aconc_swish_case_equals_silu():
    m = AconC(5, init='swish').double()
    assert torch.equal(m.p1, torch.ones(1, 5, 1, 1, dtype=torch.float64))
    assert torch.equal(m.p2, torch.zeros(1, 5, 1, 1, dtype=torch.float64))
    assert torch.equal(m.beta, torch.ones(1, 5, 1, 1, dtype=torch.float64))
    x = torch.randn(2, 5, 6, 6, dtype=torch.float64) * 4
    torch.testing.assert_close(m(x), F.silu(x), rtol=0, atol=1e-12)


def test_aconc_beta_zero_gives_mean_of_slopes():
    m = randomise(AconC(4).double(), seed=3)
    with torch.no_grad():
        m.beta.zero_()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(m(x), (m.p1 + m.p2) / 2 * x, rtol=0, atol=1e-12)


def test_aconc_large_beta_approaches_max():
    m = randomise(AconC(4).double(), seed=4)
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    gap = []
    for b in (1.0, 10.0, 100.0, 1e4):
        with torch.no_grad():
            m.beta.fill_(b)
        gap.append((m(x) - torch.maximum(m.p1 * x, m.p2 * x)).abs().max().item())
    assert gap == sorted(gap, reverse=True) and gap[-1] < 1e-3, gap


def test_aconc_official_init_and_state_dict():
    torch.manual_seed(0)
    m = AconC(2048)
    sd = m.state_dict()
    assert list(sd) == ['p1', 'p2', 'beta']
    assert all(v.shape == (1, 2048, 1, 1) for v in sd.values())
    assert torch.equal(m.beta, torch.ones(1, 2048, 1, 1))
    # N(0, 1) draws: moments of 2048 samples within 4 standard errors
    for p in (m.p1, m.p2):
        assert abs(p.mean().item()) < 4 / 2048 ** 0.5
        assert abs(p.std().item() - 1) < 0.1
    assert not torch.equal(m.p1, m.p2)


def test_acona_is_swish_with_learnable_beta():
    m = AconA(3).double()
    with torch.no_grad():
        m.beta.copy_(torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64).view(1, 3, 1, 1))
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    expected = numpy_acon_c(x.numpy(), 1.0, 0.0, m.beta.detach().numpy())
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=0, atol=1e-12)
    assert list(m.state_dict()) == ['beta']
    assert torch.autograd.gradcheck(m, (x.requires_grad_(),))


def test_aconb_is_smooth_prelu():
    m = randomise(AconB(3).double(), seed=5)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    expected = numpy_acon_c(x.numpy(), 1.0, m.p2.detach().numpy(), m.beta.detach().numpy())
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=0, atol=1e-12)
    assert sorted(m.state_dict()) == ['beta', 'p2']
    assert torch.autograd.gradcheck(m, (x.requires_grad_(),))
    # large beta: PReLU with slope p2 (p2 < 1)
    with torch.no_grad():
        m.p2.fill_(0.25)
        m.beta.fill_(1e4)
    torch.testing.assert_close(m(x), F.prelu(x, torch.full((3,), 0.25, dtype=torch.float64)),
                               rtol=0, atol=1e-3)


def test_inplace_is_accepted_and_ignored():
    x = torch.randn(1, 2, 3, 3)
    m = AconC(2, init='swish', inplace=True)
    y = m(x)
    assert not torch.equal(x, y)  # the input is untouched
    torch.testing.assert_close(y, F.silu(x))


@pytest.mark.parametrize('cls', [AconA, AconB, AconC])
def test_wrong_channel_count_names_both_numbers(cls):
    m = cls(8)
    with pytest.raises(ValueError, match=r'built for 8 channels but got an input with 5 channels'):
        m(torch.randn(2, 5, 4, 4))


@pytest.mark.parametrize('bad', [0, -3, 2.5, True, None])
@pytest.mark.parametrize('cls', [AconA, AconB, AconC])
def test_bad_channels_argument(cls, bad):
    with pytest.raises(ValueError, match=r'`channels` must be a positive int, got ' + repr(bad).replace('.', r'\.')):
        cls(bad)


def test_one_dimensional_input_is_refused():
    with pytest.raises(ValueError, match=r'expects an \(N, C, \*\) input, got shape \(8,\)'):
        AconC(8)(torch.randn(8))


def test_unknown_init_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown init 'relu', valid: \('official', 'swish'\)"):
        AconC(4, init='relu')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('cls', [AconA, AconB, AconC])
def test_cuda_matches_cpu(cls):
    m = randomise(cls(8), seed=6)
    x = torch.randn(2, 8, 16, 16)
    torch.testing.assert_close(m.cuda()(x.cuda()).cpu(), m.cpu()(x), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- inputs without elements
@pytest.mark.one_impl
@pytest.mark.parametrize('impl', ['reference', 'eager', 'cpp', 'triton'])
@pytest.mark.parametrize('dtype', DTYPES, ids=str)
@pytest.mark.parametrize('cls', [AconA, AconB, AconC])
def test_empty_input_forward_backward(cls, dtype, impl):
    """N, H or W = 0 (e.g. a RoI head given no RoIs): empty output, zero parameter grads."""
    if impl == 'triton' and BACKENDS['triton'].available() is not None:
        pytest.skip(f"impl='triton': {BACKENDS['triton'].available()}")
    with default_impl(impl):
        for shape in EMPTY_SHAPES + ((0, 4), (0, 4, 7)):
            check_empty_input(randomise(cls(4)), shape, dtype)
