"""Per-activation benchmark: forward+backward time and bytes saved for backward
(``python -m benchmarks.bench_activations [--device cuda]``).

ReLU, SiLU, the plain-formula ACON-C (autograd), our AconC and MetaAconC (each impl),
at detection-backbone shapes and a small one. Ratios are taken in one process:
time / SiLU's time, saved bytes / the input's bytes. ``--amp bf16`` times a bfloat16
input under bf16 autocast (parameters float32), ``--quick`` one round at a tiny shape.

With torch alone (no mmengine/mmcv: :mod:`mmacon.models` does not import) the AconC rows
use a torch-only module on :func:`mmacon.ops.acon_c` and the MetaAconC rows say why
they cannot run.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics

import torch
import torch.nn as nn

from mmacon.ops import BACKENDS, acon_c, resolve_impl

from .common import (interleaved_median_times, paired_with_baseline,
                     reexec_with_stable_malloc, saved_bytes)


class _OpsAconC(nn.Module):
    """AconC on :func:`mmacon.ops.acon_c` with torch alone (p1 = 1, p2 = 0, beta = 1)."""

    def __init__(self, c: int, impl: str = 'auto') -> None:
        super().__init__()
        self.impl = impl
        self.p1 = nn.Parameter(torch.ones(1, c, 1, 1))
        self.p2 = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.beta = nn.Parameter(torch.ones(1, c, 1, 1))

    def forward(self, x):
        return acon_c(x, self.p1, self.p2, self.beta, self.impl)


class _NeedsModels(nn.Module):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        raise RuntimeError('MetaAconC needs mmengine and mmcv (mmacon.models)')


try:
    from mmacon.models.activations import AconC, MetaAconC
except ModuleNotFoundError as _e:  # torch alone: the kernels only
    if (_e.name or '').split('.')[0] not in ('mmengine', 'mmcv'):
        raise
    AconC, MetaAconC = _OpsAconC, _NeedsModels

SHAPES = [(2, 64, 200, 336), (2, 256, 100, 168), (8, 64, 56, 56)]
AMP_SHAPES = [SHAPES[0], SHAPES[2]]  # the bf16-autocast rows (issue 18)
QUICK_SHAPES = [(2, 8, 12, 10)]


def candidates(c: int) -> list[tuple[str, nn.Module]]:
    return [
        ('ReLU', nn.ReLU()),
        ('SiLU', nn.SiLU()),
        ('ACON-C plain formula', AconC(c, impl='reference')),
        ('AconC (eager Function)', AconC(c, impl='eager')),
        ('AconC (auto)', AconC(c, impl='auto')),
        ('MetaAconC plain formula', MetaAconC(c, impl='reference')),
        ('MetaAconC (auto)', MetaAconC(c, impl='auto')),
    ]


def cuda_candidates(c: int, impls=('triton', 'eager')) -> list[tuple[str, nn.Module]]:
    """The GPU table: baselines (the plain formula, also under torch.compile), then AconC /
    MetaAconC per impl."""
    mods = [('ReLU', nn.ReLU()), ('SiLU', nn.SiLU()),
            ('ACON-C plain formula', AconC(c, impl='reference')),
            ('ACON-C plain formula, torch.compile', torch.compile(AconC(c, impl='reference')))]
    mods += [(f'AconC ({impl})', AconC(c, impl=impl)) for impl in impls if impl != 'compiled']
    mods += [('MetaAconC plain formula', MetaAconC(c, impl='reference'))]
    mods += [(f'MetaAconC ({impl})', MetaAconC(c, impl=impl)) for impl in impls
             if impl != 'compiled']
    return mods


def run(device: str = 'cpu', shapes=SHAPES, repeats: int = 9, extra: list | None = None,
        channels_last: bool = False, amp_dtype: torch.dtype | None = None,
        make_candidates=candidates):
    """Rows of fwd+bwd time / SiLU and saved bytes / input per activation and shape.

    ``amp_dtype``: the input is in that dtype (as a conv's output under autocast) and
    the steps run under ``torch.autocast``; parameters stay float32. A candidate that
    fails to run gets a row with its error instead of figures.
    """
    rows = []
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    dtype = amp_dtype or torch.float32

    def ctx():
        if amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.split(':')[0], dtype=amp_dtype)

    for shape in shapes:
        x = torch.randn(shape, device=device, dtype=dtype).contiguous(memory_format=fmt)
        x.requires_grad_()
        grad = torch.randn(shape, device=device, dtype=dtype).contiguous(memory_format=fmt)
        in_bytes = x.numel() * x.element_size()
        mods = make_candidates(shape[1]) + [(n, m(shape[1])) for n, m in (extra or [])]
        saved, steps, failed = {}, {}, {}
        for name, mod in mods:
            mod = mod.to(device)
            try:
                with ctx():
                    nbytes, out = saved_bytes(mod, x)
                    out.backward(grad)
            except Exception as e:  # noqa: BLE001 - reported in the table
                failed[name] = f'{type(e).__name__}: {str(e).splitlines()[0][:160]}'
                continue
            del out
            saved[name] = nbytes / in_bytes

            def step(mod=mod):
                x.grad = None
                mod.zero_grad(set_to_none=True)
                with ctx():
                    mod(x).backward(grad)

            steps[name] = step
        rounds, ratios = paired_with_baseline(steps, 'SiLU', device, repeats=repeats)
        for name, _ in mods:
            row = dict(shape='x'.join(map(str, shape)), name=name)
            if name in failed:
                row['error'] = failed[name]
            else:
                row.update(ms=statistics.median(rounds[name]) * 1e3, vs_silu=ratios[name],
                           saved=saved[name])
            rows.append(row)
    return rows


def bandwidth(device: str = 'cpu', shapes=SHAPES, repeats: int = 9, impls=('auto',),
              dtype: torch.dtype = torch.float32):
    """Achieved bandwidth of the AconC kernels against a same-size tensor copy.

    Each impl is resolved by the dispatcher (:func:`mmacon.ops.resolve_impl`) and its
    backend's halves are timed alone. Forward moves 2 tensors (read x, write y),
    backward 3 (read grad and x, write grad_x); a copy moves 2. The figure is bytes
    moved / time. x is in ``dtype``, the per-channel coefficients in float32.
    """
    rows = []
    for shape in shapes:
        x = torch.randn(shape, device=device, dtype=dtype)
        g = torch.randn(shape, device=device, dtype=dtype)
        out = torch.empty_like(x)
        c = shape[1]
        p1, p2, beta = (torch.randn(1, c, 1, 1, device=device) for _ in range(3))
        if dtype == torch.float32 or device == 'cpu':
            p1, p2, beta = (t.to(dtype) for t in (p1, p2, beta))
        nbytes = x.numel() * x.element_size()
        fns = {'copy': lambda: out.copy_(x)}
        names = {}
        for impl in impls:
            try:
                name = resolve_impl(impl, x, p1, p2, beta)
            except RuntimeError as e:
                rows.append(dict(shape='x'.join(map(str, shape)), impl=impl,
                                 error=str(e).splitlines()[0][:160]))
                continue
            backend = BACKENDS['eager' if name == 'reference' else name]
            names[impl] = name
            fns[f'{impl} fwd'] = lambda b=backend: b.forward(x, p1, p2, beta)
            fns[f'{impl} bwd'] = lambda b=backend: b.backward(g, x, p1, p2, beta, True, True, True)
        times = interleaved_median_times(fns, device, repeats=repeats)
        copy_bw = 2 * nbytes / times['copy']
        for impl, name in names.items():
            t_fwd, t_bwd = times[f'{impl} fwd'], times[f'{impl} bwd']
            rows.append(dict(shape='x'.join(map(str, shape)), impl=name, copy=copy_bw / 1e9,
                             fwd=2 * nbytes / t_fwd / 1e9, bwd=3 * nbytes / t_bwd / 1e9,
                             fwd_rel=2 * nbytes / t_fwd / copy_bw,
                             bwd_rel=3 * nbytes / t_bwd / copy_bw))
    return rows


def bandwidth_markdown(rows) -> str:
    lines = ['| shape | impl | copy GB/s | AconC forward GB/s (vs copy) | '
             'AconC backward GB/s (vs copy) |', '|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['shape']} | {r['impl']} | could not run: {r['error']} | | |")
            continue
        lines.append(f"| {r['shape']} | {r['impl']} | {r['copy']:.1f} | {r['fwd']:.1f} "
                     f"({r['fwd_rel']:.2f}x) | {r['bwd']:.1f} ({r['bwd_rel']:.2f}x) |")
    return '\n'.join(lines)


def to_markdown(rows) -> str:
    lines = ['| shape | activation | fwd+bwd ms | time / SiLU | saved for backward / input |',
             '|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f"| {r['shape']} | {r['name']} | could not run: {r['error']} | | |")
            continue
        lines.append(f"| {r['shape']} | {r['name']} | {r['ms']:.2f} | {r['vs_silu']:.2f}x | "
                     f"{r['saved']:.2f}x |")
    return '\n'.join(lines)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: as set)')
    ap.add_argument('--amp', choices=('bf16', 'fp16'), default=None,
                    help='input in that dtype, steps under autocast (shapes: AMP_SHAPES)')
    ap.add_argument('--quick', action='store_true', help='one round at a tiny shape')
    ap.add_argument('--system-malloc', action='store_true')
    a = ap.parse_args()
    if not a.system_malloc:
        reexec_with_stable_malloc()
    if a.threads:
        torch.set_num_threads(a.threads)
    amp = {'bf16': torch.bfloat16, 'fp16': torch.float16, None: None}[a.amp]
    shapes = QUICK_SHAPES if a.quick else (AMP_SHAPES if amp else SHAPES)
    repeats = 1 if a.quick else a.repeats
    print(to_markdown(run(a.device, shapes=shapes, repeats=repeats, amp_dtype=amp)))
