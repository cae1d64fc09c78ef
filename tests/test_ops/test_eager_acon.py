"""mmacon/ops/eager_acon.py: the PyTorch-ops halves against the formula; float32 compute."""
import pytest
import torch

from mmacon.ops.reference import acon_c_reference
from mmacon.ops import eager_acon
from tests.test_ops.helpers import BETA_SHAPES, N, C, H, W, inputs


@pytest.mark.parametrize('beta_kind', list(BETA_SHAPES))
def test_halves_against_formula_float64(beta_kind):
    ts = [t.detach() for t in inputs(BETA_SHAPES[beta_kind])]
    go = torch.randn(N, C, H, W, dtype=torch.float64)
    leaves = [t.clone().requires_grad_() for t in ts]
    y = acon_c_reference(*leaves)
    expected = [y] + list(torch.autograd.grad(y, leaves, go))
    got = [eager_acon.forward(*ts), *eager_acon.backward(go, *ts)]
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, rtol=0, atol=1e-12)
    assert eager_acon.backward(go, *ts, need_x=False, need_p=False) [:3] == (None, None, None)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_low_precision_computed_in_float32(dtype):
    x, p1, p2, beta = (t.detach().float() for t in inputs(BETA_SHAPES['channel']))
    xl, go = x.to(dtype), torch.randn_like(x).to(dtype)
    y = eager_acon.forward(xl, p1, p2, beta)
    assert y.dtype == dtype
    # float32 math on the rounded inputs, rounded once at the end
    torch.testing.assert_close(y, acon_c_reference(xl.float(), p1, p2, beta).to(dtype),
                               rtol=0, atol=0)
    gx, g1, g2, gb = eager_acon.backward(go, xl, p1, p2, beta)
    assert gx.dtype == dtype and g1.dtype == g2.dtype == gb.dtype == torch.float32
    leaves = [t.clone().requires_grad_() for t in (xl.float(), p1, p2, beta)]
    expected = torch.autograd.grad(acon_c_reference(*leaves), leaves, go.float())
    for g, e in zip((g1, g2, gb), expected[1:]):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)
