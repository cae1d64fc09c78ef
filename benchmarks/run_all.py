"""Regenerate docs/benchmarks.md: per-activation and whole-model tables, CPU (2 threads)
and, when CUDA is available, the same tables on the GPU.

    .venv/bin/python -m benchmarks.run_all        # or: make bench
    .venv/bin/python -m benchmarks.run_all --skip-models   # per-activation only
    .venv/bin/python -m benchmarks.run_all --system-malloc # don't pin glibc malloc
"""
from __future__ import annotations

import argparse
import os
import platform

import torch

from . import bench_activations, bench_models
from .common import cpu_description, malloc_note, reexec_with_stable_malloc
from .report import DOC, FOOTER, HEADER, cuda_section


# (row name, column, limit) per target; the worst shape decides.
TARGETS = [
    ('AconC (auto)', 'saved', 1.1, 'AconC saved for backward / input'),
    ('AconC (auto)', 'vs_silu', 1.5, 'AconC forward+backward time / SiLU'),
    ('MetaAconC (auto)', 'saved', 1.2, 'MetaAconC saved for backward / input'),
    ('MetaAconC (auto)', 'vs_silu', 1.8, 'MetaAconC forward+backward time / SiLU'),
]
STEP_LIMIT = 1.1  # whole training step with ACON-C / with ReLU
# on a bfloat16 input under bf16 autocast (bench_activations.AMP_SHAPES), against SiLU-bf16
AMP_TARGETS = [
    ('AconC (auto)', 'vs_silu', 1.5, 'AconC forward+backward time / SiLU, bf16 autocast'),
]


def targets_markdown(act_rows: list, model_rows: list, amp_rows: list = ()) -> str:
    """Each target with the worst measured ratio and whether it is met."""
    lines = ['| target | limit | worst measured | met |', '|---|---|---|---|']
    for rows, targets in ((act_rows, TARGETS), (amp_rows, AMP_TARGETS)):
        for name, col, limit, label in targets:
            got = [r[col] for r in rows if r['name'] == name and 'error' not in r]
            if not got:
                continue
            worst = max(got)
            lines.append(f"| {label} | <= {limit}x | {worst:.2f}x | "
                         f"{'yes' if worst <= limit else 'no'} |")
    for r in model_rows:
        if r['act'] == 'ACON-C':
            ok = r['vs_relu'] <= STEP_LIMIT
            lines.append(f"| {r['model']} training step with ACON-C / ReLU | <= {STEP_LIMIT}x | "
                         f"{r['vs_relu']:.2f}x | {'yes' if ok else 'no'} |")
    return '\n'.join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--model-repeats', type=int, default=5)
    ap.add_argument('--skip-models', action='store_true')
    ap.add_argument('--system-malloc', action='store_true',
                    help='time with the allocator as configured (timings turn bimodal)')
    ap.add_argument('--out', default=DOC)
    a = ap.parse_args()
    if not a.system_malloc:
        reexec_with_stable_malloc()
    torch.set_num_threads(a.threads)
    act_rows = bench_activations.run('cpu', repeats=a.repeats)
    amp_rows = bench_activations.run('cpu', shapes=bench_activations.AMP_SHAPES,
                                     repeats=a.repeats, amp_dtype=torch.bfloat16)
    parts = [open(HEADER).read().rstrip(), '',
             f'Machine: {platform.machine()} ({cpu_description()}), torch {torch.__version__}, '
             f'{a.threads} threads, median of {a.repeats} after warm-up, {malloc_note()}; '
             f'load average {os.getloadavg()[0]:.1f} at the start (the machine is shared, '
             'so absolute times vary; each candidate alternates with SiLU, or with the ReLU model, '
             'and its ratio is the median over rounds of the two calls timed back to back in that '
             'round: `benchmarks/common.py`, `paired_with_baseline`).', '',
             '## CPU: per activation', '', bench_activations.to_markdown(act_rows),
             '', '## CPU: per activation, channels_last input', '',
             bench_activations.to_markdown(bench_activations.run(
                 'cpu', shapes=bench_activations.SHAPES[-1:], repeats=a.repeats,
                 channels_last=True)),
             '', '## CPU: per activation, bfloat16 input under bf16 autocast '
             '(time / SiLU on the same bfloat16 input)', '',
             bench_activations.to_markdown(amp_rows),
             '', '## CPU: bandwidth of the fused kernels', '',
             bench_activations.bandwidth_markdown(
                 bench_activations.bandwidth('cpu', repeats=a.repeats))]
    model_rows = []
    if not a.skip_models:
        model_rows = bench_models.run('cpu', hw=128, repeats=a.model_repeats)
        parts += ['', f'## CPU: one training step, 2x3x128x128 (median of {a.model_repeats} '
                  'after 1 warm-up)', '', bench_models.to_markdown(model_rows, 'cpu')]
    parts += ['', '## CPU: the targets (issues 5, 13 and 18)', '',
              targets_markdown(act_rows, model_rows, amp_rows)]
    parts += ['', cuda_section(a.out)]
    if os.path.exists(FOOTER):
        parts += ['', open(FOOTER).read().rstrip()]
    text = '\n'.join(parts) + '\n'
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
