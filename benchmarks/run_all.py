"""Regenerate docs/benchmarks.md: per-activation and whole-model tables, CPU (2 threads)
and, when CUDA is available, the same tables on the GPU.

    .venv/bin/python benchmarks/run_all.py        # or: make bench
    .venv/bin/python benchmarks/run_all.py --skip-models   # per-activation only
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_activations  # noqa: E402
import bench_models  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'benchmarks_header.md')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=9)
    ap.add_argument('--skip-models', action='store_true')
    ap.add_argument('--out', default=os.path.join(ROOT, 'docs', 'benchmarks.md'))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    parts = [open(HEADER).read().rstrip(), '',
             f'Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, '
             f'{a.threads} threads, median of {a.repeats} after warm-up.', '',
             '## CPU: per activation', '',
             bench_activations.to_markdown(bench_activations.run('cpu', repeats=a.repeats))]
    if not a.skip_models:
        parts += ['', '## CPU: one training step, 2x3x128x128 (median of 2 after 1 warm-up)', '',
                  bench_models.to_markdown(bench_models.run('cpu', hw=128, repeats=2), 'cpu')]
    if torch.cuda.is_available():
        parts += ['', f'## CUDA ({torch.cuda.get_device_name()}): per activation', '',
                  bench_activations.to_markdown(bench_activations.run('cuda', repeats=a.repeats))]
        if not a.skip_models:
            parts += ['', '## CUDA: one training step, 2x3x512x512', '',
                      bench_models.to_markdown(bench_models.run('cuda', hw=512, repeats=5), 'cuda')]
    else:
        parts += ['', '## CUDA', '', 'No GPU was available when this file was generated; '
                  '`run_all.py` adds the CUDA tables (impl `auto` = torch.compile/Triton) '
                  'when CUDA is available.']
    text = '\n'.join(parts) + '\n'
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
