"""benchmarks/common.py: round-robin timing, paired ratios, saved bytes."""
import torch

from benchmarks import common


def test_paired_ratios_cancel_drift_that_medians_do_not():
    # the machine slows down 3x halfway; the candidate is always 1.5x the baseline
    base = [1.0, 1.0, 1.0, 3.0, 3.0]
    cand = [1.5, 1.5, 3.0 * 1.5, 3.0 * 1.5, 3.0 * 1.5]  # its 3rd call already slow
    times = {'SiLU': base, 'AconC': cand}
    ratios = common.paired_ratios(times, 'SiLU')
    assert ratios == {'SiLU': 1.0, 'AconC': 1.5}
    medians = {k: sorted(v)[2] for k, v in times.items()}
    assert medians['AconC'] / medians['SiLU'] == 4.5  # what a ratio of medians reports


def test_interleaved_times_calls_each_once_per_round():
    calls = []
    times = common.interleaved_times({'a': lambda: calls.append('a'),
                                      'b': lambda: calls.append('b')}, warmup=1, repeats=3)
    assert calls == ['a', 'b'] * 4
    assert {k: len(v) for k, v in times.items()} == {'a': 3, 'b': 3}
    assert all(t >= 0 for v in times.values() for t in v)


def test_saved_bytes_counts_each_storage_once():
    x = torch.randn(4, 8, requires_grad=True)   # 128 bytes
    w = torch.randn(8, requires_grad=True)      # 32 bytes

    def fn(a, b):
        return (a * b) * a[:, :1]                # a saved twice (once as a view), b once

    nbytes, out = common.saved_bytes(fn, x, w)
    assert out.shape == (4, 8) and out.grad_fn is not None
    product_bytes = 4 * 8 * 4                    # a * b, saved by the second product
    assert nbytes == 128 + 32 + product_bytes


def test_reexec_restarts_a_module_run_as_a_module(tmp_path):
    """``python -m pkg.mod`` restarts as ``python -m pkg.mod`` (its relative imports keep
    working), with the allocator settings and the arguments."""
    import os
    import subprocess
    import sys
    pkg = tmp_path / 'probe_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'main.py').write_text(
        'import os, sys\nfrom benchmarks import common\nfrom . import __name__ as parent\n'
        'common.reexec_with_stable_malloc()\n'
        "print(parent, __spec__.name, sys.argv[1:], common.malloc_pinned())\n")
    env = {k: v for k, v in os.environ.items() if k not in common.STABLE_MALLOC}
    env['PYTHONPATH'] = os.pathsep.join([str(tmp_path), common.__file__.rsplit(os.sep, 2)[0]])
    proc = subprocess.run([sys.executable, '-m', 'probe_pkg.main', '--flag', 'x'], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split('\n')[0] == "probe_pkg probe_pkg.main ['--flag', 'x'] True", \
        proc.stderr


def test_cpu_description_names_the_instruction_set_torch_uses():
    desc = common.cpu_description()
    assert desc.endswith(torch.backends.cpu.get_cpu_capability())
    with open('/proc/cpuinfo') as f:
        models = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
    if models:  # Linux on x86: the model comes first
        assert desc.startswith(models[0] + ', ')


def test_paired_with_baseline_alternates_each_candidate_with_the_baseline_only():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ('a', 'SiLU', 'b')}
    times, ratios = common.paired_with_baseline(fns, 'SiLU', warmup=1, repeats=2)
    # a's block, then b's: never a then b back to back
    assert calls == ['SiLU', 'a'] * 3 + ['SiLU', 'b'] * 3
    assert {k: len(v) for k, v in times.items()} == {'a': 2, 'SiLU': 4, 'b': 2}
    assert set(ratios) == {'a', 'SiLU', 'b'} and ratios['SiLU'] == 1.0


def test_paired_with_baseline_ratio_is_the_median_of_its_pairs(monkeypatch):
    rounds = iter([{'SiLU': [1.0, 2.0, 4.0], 'a': [1.5, 3.0, 2.0]}])
    monkeypatch.setattr(common, 'interleaved_times', lambda *a, **k: next(rounds))
    times, ratios = common.paired_with_baseline({'SiLU': None, 'a': None}, 'SiLU')
    assert ratios == {'SiLU': 1.0, 'a': 1.5}  # median of 1.5, 1.5, 0.5
    assert times == {'SiLU': [1.0, 2.0, 4.0], 'a': [1.5, 3.0, 2.0]}
