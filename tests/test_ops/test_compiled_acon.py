"""mmacon/ops/compiled_acon.py: torch.compile'd halves against the formula; the fallback."""
import pytest
import torch

from mmacon.models.activations import acon_c_reference
from mmacon.ops import acon_c, compiled_acon, resolve_impl
from tests.test_ops.helpers import BETA_SHAPES, C, H, N, W, inputs, value_and_grads


@pytest.mark.compile
def test_compiled_matches_formula():
    """The backend's torch.compile test (budgeted): per channel and per sample beta."""
    for beta_kind in ('channel', 'sample-channel'):
        ts = inputs(BETA_SHAPES[beta_kind], dtype=torch.float32, seed=3)
        go = torch.randn(N, C, H, W)
        expected = value_and_grads(acon_c_reference, ts, go)
        got = value_and_grads(lambda *a: acon_c(*a, impl='compiled'), ts, go)
        for e, g in zip(expected, got):
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)
    assert resolve_impl('compiled', *ts) == 'compiled'


def test_compile_failure_warns_once_and_runs_eager(monkeypatch):
    def broken(fn, **kw):
        raise RuntimeError('no compiler')

    monkeypatch.setattr(compiled_acon, '_compiled', {})
    monkeypatch.setattr(compiled_acon, '_failed', None)
    monkeypatch.setattr(torch, 'compile', broken)
    ts = [t.detach() for t in inputs(BETA_SHAPES['channel'])]
    with pytest.warns(UserWarning, match=r"torch.compile of ACON-C failed \(RuntimeError: no "):
        y = compiled_acon.forward(*ts)
    torch.testing.assert_close(y, acon_c_reference(*ts), rtol=0, atol=1e-12)
    assert compiled_acon.available() == 'torch.compile failed earlier (RuntimeError: no compiler)'
    assert resolve_impl('compiled', *ts) == 'eager'
