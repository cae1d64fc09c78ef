"""mmacon/ops/__init__.py: the bottom layer imports and computes with torch alone.

Each check runs in a subprocess whose ``sitecustomize`` makes mmengine, mmcv, mmdet, mmseg
and mmpretrain unimportable (as on a machine with torch and Triton only): there
``import mmacon.ops`` must not pull in any of them nor :mod:`mmacon.models`; every
available impl runs forward and backward against the float64 formula; the Triton kernel
tests pass (in Triton's interpreter where CUDA is absent); the per-activation benchmark
runs. This file imports nothing from mmacon itself.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCKED = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')

SITECUSTOMIZE = f'''
import sys
BLOCKED = {BLOCKED!r}


class _Block:
    """Makes the OpenMMLab packages unimportable, as where they are not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f'No module named {{name!r}} (blocked)', name=name)
        return None


sys.meta_path.insert(0, _Block())
'''

CHECK = r'''
import sys
import torch
import mmacon
import mmacon.ops as ops
from mmacon.ops.reference import acon_c_reference

loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)
assert not loaded, loaded
assert 'mmacon.models' not in sys.modules and 'mmacon.engine' not in sys.modules
assert mmacon._registration_error is not None
assert mmacon._registration_error.name.split('.')[0] in ('mmengine', 'mmcv')
try:
    import mmacon.models  # noqa: F401
except ModuleNotFoundError as e:
    assert e.name.split('.')[0] in ('mmengine', 'mmcv'), e
else:
    raise AssertionError('mmacon.models imported without mmengine')

g = torch.Generator().manual_seed(0)
x = torch.randn(2, 6, 5, 7, generator=g, dtype=torch.float64) * 2
p1, p2 = (torch.randn(1, 6, 1, 1, generator=g, dtype=torch.float64) for _ in range(2))
beta = torch.rand(2, 6, 1, 1, generator=g, dtype=torch.float64) * 2
go = torch.randn(x.shape, generator=g, dtype=torch.float64)
ts = [t.clone().requires_grad_() for t in (x, p1, p2, beta)]
y = acon_c_reference(*ts)
expected = [y] + list(torch.autograd.grad(y, ts, go))
ran = []
for impl in ops.IMPLS:
    for cl in (False, True):
        xi = x.contiguous(memory_format=torch.channels_last) if cl else x
        try:
            name, why = ops.choose('acon_c', impl, xi, p1, p2, beta)
        except RuntimeError as e:  # impl='triton' where it cannot run at all
            print(f'{impl}: {e}')
            continue
        if why is not None and impl != 'auto':
            print(f'{impl}: {why}')
            continue
        ts = [t.clone().requires_grad_() for t in (xi, p1, p2, beta)]
        y = ops.acon_c(*ts, impl=impl)
        got = [y] + list(torch.autograd.grad(y, ts, go))
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
        ran.append((impl, name, cl))
print('ran', ran)
assert {impl for impl, _, _ in ran} >= {'auto', 'reference', 'eager'}
'''


def _run(args, tmp_path, timeout, **env):
    (tmp_path / 'sitecustomize.py').write_text(SITECUSTOMIZE)
    environ = dict(os.environ, **env)
    environ['PYTHONPATH'] = os.pathsep.join([str(tmp_path), ROOT])
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def test_the_blocker_blocks(tmp_path):
    out = _run(['-c', 'import importlib\nfor m in %r:\n'
                '    try:\n        importlib.import_module(m)\n'
                '    except ModuleNotFoundError:\n        print("blocked", m)' % (BLOCKED,)],
               tmp_path, 60)
    assert out.split() == [w for m in BLOCKED for w in ('blocked', m)]


def test_every_impl_against_the_formula_with_torch_alone(tmp_path):
    out = _run(['-c', f'BLOCKED = {BLOCKED!r}\n' + CHECK], tmp_path, 300)
    assert "('reference', 'reference', False)" in out and "('eager', 'eager', True)" in out
    if "cpp: " not in out:  # the C++ kernel builds here: it ran, both layouts
        assert "('cpp', 'cpp', False)" in out and "('cpp', 'cpp', True)" in out


def test_triton_kernel_tests_with_torch_alone(tmp_path):
    """tests/test_ops/test_triton_acon.py without the suite's conftest (it imports mmengine)."""
    pytest.importorskip('triton')
    out = _run(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--noconftest',
                '-k', 'not compile_for_sm90', 'tests/test_ops/test_triton_acon.py'],
               tmp_path, 600, TRITON_INTERPRET=os.environ.get('TRITON_INTERPRET', '1'))
    assert ' passed' in out and 'failed' not in out and 'error' not in out.lower(), out[-2000:]


def test_activation_benchmark_with_torch_alone(tmp_path):
    out = _run(['-m', 'benchmarks.bench_activations', '--quick', '--system-malloc'], tmp_path, 300)
    rows = {line.split('|')[2].strip(): line for line in out.splitlines()
            if line.startswith('| 2x8x12x10 |')}
    assert 'x |' in rows['AconC (auto)'] and 'x |' in rows['SiLU']
    assert 'MetaAconC needs mmengine and mmcv' in rows['MetaAconC (auto)']
