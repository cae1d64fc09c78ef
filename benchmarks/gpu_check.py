"""One-shot GPU check (``make gpu-check``): CUDA tests, CUDA benchmark tables, DDP smoke run.

Writes the CUDA section of docs/benchmarks.md (the CPU sections are left as they are)
and prints it. Every section runs on its own: one that cannot run (no CUDA, no Triton,
mmseg or mmcv's compiled ops missing, over its time budget) says so and why, and the
rest still run. Aimed at under 8 minutes on one GPU.

    python benchmarks/gpu_check.py [--out docs/benchmarks.md] [--quick]
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
SHAPES = [(2, 64, 200, 336), (2, 256, 100, 168), (8, 64, 56, 56)]
IMPLS = ('triton', 'eager')  # 'compiled' is a baseline row of cuda_candidates
AMP_DTYPES = {'float32': None, 'bfloat16 (autocast)': torch.bfloat16,
              'float16 (autocast)': torch.float16}
TINY_CONFIG = os.path.join(ROOT, 'configs', 'tiny', 'pspnet_r18-d8-aconc_tiny-cityscapes.py')


def _version(name: str) -> str:
    try:
        module = __import__(name)
        return getattr(module, '__version__', 'importable')
    except Exception as e:  # noqa: BLE001 - reported
        return f'not importable ({type(e).__name__}: {str(e).splitlines()[0][:120]})'


def environment() -> str:
    lines = [f'- torch {torch.__version__}, Python {platform.python_version()}',
             f'- CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else "not available"}']
    for name in ('triton', 'mmengine', 'mmcv', 'mmseg'):
        lines.append(f'- {name}: {_version(name)}')
    try:
        import mmcv.ops  # noqa: F401
        lines.append('- mmcv compiled ops: importable')
    except Exception as e:  # noqa: BLE001
        lines.append(f'- mmcv compiled ops: not importable ({type(e).__name__})')
    return '\n'.join(lines)


def cuda_tests(timeout: int) -> str:
    """The ops tests (CUDA ones included) and the Triton kernel tests, on this GPU."""
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-x',
           'tests/test_ops', '-k', 'cuda or triton or custom_op or dispatch']
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f'`pytest {shlex.join(cmd[3:])}` did not finish within {timeout} s.'
    tail = [ln for ln in proc.stdout.splitlines() if ln.strip()][-1:] or ['(no output)']
    text = f'`pytest {shlex.join(cmd[3:])}` -> exit {proc.returncode}: {tail[0]}'
    if proc.returncode != 0:
        failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(('FAILED', 'ERROR'))]
        text += '\n\n```\n' + '\n'.join(failed[:20] or proc.stdout.splitlines()[-30:]) + '\n```'
    return text


def activation_tables(repeats: int, shapes) -> list[str]:
    import bench_activations as ba
    parts = []
    for label, dtype in AMP_DTYPES.items():
        rows = ba.run('cuda', shapes=shapes, repeats=repeats, amp_dtype=dtype,
                      make_candidates=ba.cuda_candidates)
        parts += [f'### Per activation, {label}', '', ba.to_markdown(rows), '']
        bw = ba.bandwidth('cuda', shapes=shapes, repeats=repeats, impls=IMPLS,
                          dtype=dtype or torch.float32)
        parts += [f'### Bandwidth of the AconC kernels, {label}', '', ba.bandwidth_markdown(bw), '']
    return parts


def model_step(repeats: int) -> str:
    import bench_models as bm
    rows = bm.run('cuda', n=2, hw=512, repeats=repeats, models=('PSPNet R-50-D8',),
                  amp_dtype=torch.bfloat16)
    return bm.to_markdown(rows, 'cuda')


def ddp_smoke(timeout: int) -> str:
    """1-process NCCL torchrun of the tiny PSPNet config, 3 iterations."""
    try:
        from mmacon.tiny_data import make_tiny_cityscapes
    except ImportError:
        from mmacon.datasets import make_tiny_cityscapes
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, 'tiny_cityscapes')
        make_tiny_cityscapes(root, num_train=4, num_val=2)
        opts = [f'{k}.dataset.data_root={root}' for k in
                ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        opts += ['train_cfg.max_iters=3', 'train_cfg.val_interval=1000',
                 'env_cfg.dist_cfg.backend=nccl', 'default_hooks.checkpoint.interval=1000',
                 'default_hooks.logger.interval=1']
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=1',
               '--master_port=29533', 'tools/train.py', TINY_CONFIG, '--launcher', 'pytorch',
               '--work-dir', os.path.join(tmp, 'work'), '--cfg-options', *opts]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, 'PYTHONPATH': ROOT})
        except subprocess.TimeoutExpired:
            return f'torchrun did not finish within {timeout} s.'
    log = proc.stdout + proc.stderr
    checks = {f'exit 0 (got {proc.returncode})': proc.returncode == 0,
              '3 iterations (`Iter(train) [3/3]` logged)': 'Iter(train) [3/3]' in log,
              "the NCCL backend (`'backend': 'nccl'` logged)": "'backend': 'nccl'" in log}
    ok = all(checks.values())
    verdict = ('passed: 3 iterations with the NCCL backend' if ok else
               'failed, missing: ' + '; '.join(k for k, v in checks.items() if not v))
    text = f'`torchrun --nproc_per_node=1 tools/train.py {os.path.relpath(TINY_CONFIG, ROOT)}`: {verdict}.'
    if not ok:
        keep = [ln for ln in log.splitlines()
                if 'Error' in ln or 'Iter(train)' in ln or 'dist_cfg' in ln or 'backend' in ln]
        text += '\n\n```\n' + '\n'.join((keep or log.splitlines())[-25:]) + '\n```'
    return text


BUDGET_S = 450  # sections start only within this many seconds of the start (8-minute check)
_START = time.time()


def section(title: str, fn, *args) -> list[str]:
    """Run one part; on any failure its text says what could not run and why."""
    t0 = time.time()
    if t0 - _START > BUDGET_S:
        return [f'### {title}', '', f'Skipped: the check had used its {BUDGET_S} s budget '
                'before this section could start.', '']
    try:
        body = fn(*args)
        body = '\n'.join(body) if isinstance(body, list) else body
    except Exception as e:  # noqa: BLE001 - degrade honestly
        frame = traceback.extract_tb(e.__traceback__)[-1]
        body = (f'Could not run: {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ""} '
                f'({os.path.basename(frame.filename)}:{frame.lineno}).')
    return [f'### {title} ({time.time() - t0:.0f} s)', '', body.strip(), '']


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'docs', 'benchmarks.md'))
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--quick', action='store_true', help='one shape, 5 repeats (a dry run)')
    a = ap.parse_args(argv)
    from run_all import write_cuda_section
    shapes = SHAPES[-1:] if a.quick else SHAPES
    repeats = 5 if a.quick else a.repeats
    t0 = time.time()
    parts = ['## CUDA', '', f'Generated by `make gpu-check` ({time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}). '
             'Times are medians of round-robin runs after warm-up; ratios are taken in one '
             'process. Under autocast the input is already in the low-precision dtype (as a '
             "conv's output would be) and the parameters are float32.", '',
             '### Environment', '', environment(), '']
    if not torch.cuda.is_available():
        parts += ['No CUDA device: the CUDA tests and tables could not run here.']
    else:
        torch.manual_seed(0)
        todo = [('CUDA tests', cuda_tests, 180),
                ('Per activation: forward+backward vs SiLU, bandwidth vs a copy',
                 activation_tables, repeats, shapes),
                ('PSPNet R-50-D8 training step, 2x3x512x512, AMP (bfloat16 autocast): '
                 'time and peak memory vs ReLU', model_step, 3 if a.quick else 5),
                ('1-process NCCL torchrun smoke run', ddp_smoke, 150)]
        for title, fn, *args in todo:
            parts += section(title, fn, *args)
            write_cuda_section(a.out, '\n'.join(parts))  # what is done survives a kill
            print('\n'.join(parts[-4:]), flush=True)
    parts += [f'Total: {time.time() - t0:.0f} s.']
    write_cuda_section(a.out, '\n'.join(parts))
    print(parts[-1])
    return 0


if __name__ == '__main__':
    sys.exit(main())
