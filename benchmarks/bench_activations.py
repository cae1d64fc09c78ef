"""Per-activation benchmark: forward+backward time and bytes saved for backward.

ReLU, SiLU, the plain-formula ACON-C (autograd), our AconC and MetaAconC (each impl),
at detection-backbone shapes and a small one. Ratios are taken in one process:
time / SiLU's time, saved bytes / the input's bytes.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn as nn

from common import interleaved_median_times, reexec_with_stable_malloc, saved_bytes
from mmacon.models.activations import AconC, MetaAconC

SHAPES = [(2, 64, 200, 336), (2, 256, 100, 168), (8, 64, 56, 56)]


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


def run(device: str = 'cpu', shapes=SHAPES, repeats: int = 9, extra: list | None = None,
        channels_last: bool = False):
    rows = []
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for shape in shapes:
        x = torch.randn(shape, device=device).contiguous(memory_format=fmt).requires_grad_()
        grad = torch.randn(shape, device=device).contiguous(memory_format=fmt)
        in_bytes = x.numel() * x.element_size()
        mods = candidates(shape[1]) + [(n, m(shape[1])) for n, m in (extra or [])]
        saved, steps = {}, {}
        for name, mod in mods:
            mod = mod.to(device)
            nbytes, out = saved_bytes(lambda: mod(x))
            out.backward(grad)
            del out
            saved[name] = nbytes / in_bytes

            def step(mod=mod):
                x.grad = None
                mod.zero_grad(set_to_none=True)
                mod(x).backward(grad)

            steps[name] = step
        times = interleaved_median_times(steps, device, repeats=repeats)
        results = {name: (times[name], saved[name]) for name in steps}
        silu = results['SiLU'][0]
        for name, (t, b) in results.items():
            rows.append(dict(shape='x'.join(map(str, shape)), name=name, ms=t * 1e3,
                             vs_silu=t / silu, saved=b))
    return rows


def bandwidth(device: str = 'cpu', shapes=SHAPES, repeats: int = 9):
    """Achieved bandwidth of the fused AconC kernels against a same-size tensor copy.

    Forward moves 2 tensors (read x, write y), backward 3 (read grad and x, write
    grad_x); a copy moves 2. The figure is bytes moved / time.
    """
    from mmacon.models.activations.fused import _backward, _forward, resolve_impl
    rows = []
    for shape in shapes:
        x = torch.randn(shape, device=device)
        g = torch.randn(shape, device=device)
        out = torch.empty_like(x)
        c = shape[1]
        p1, p2, beta = (torch.randn(1, c, 1, 1, device=device) for _ in range(3))
        impl = resolve_impl('auto', x, p1, p2, beta)
        nbytes = x.numel() * x.element_size()
        times = interleaved_median_times(
            {'copy': lambda: out.copy_(x),
             'fwd': lambda: _forward(impl, x, p1, p2, beta),
             'bwd': lambda: _backward(impl, g, x, p1, p2, beta, True, True, True)},
            device, repeats=repeats)
        t_copy, t_fwd, t_bwd = times['copy'], times['fwd'], times['bwd']
        copy_bw = 2 * nbytes / t_copy
        rows.append(dict(shape='x'.join(map(str, shape)), impl=impl, copy=copy_bw / 1e9,
                         fwd=2 * nbytes / t_fwd / 1e9, bwd=3 * nbytes / t_bwd / 1e9,
                         fwd_rel=2 * nbytes / t_fwd / copy_bw,
                         bwd_rel=3 * nbytes / t_bwd / copy_bw))
    return rows


def bandwidth_markdown(rows) -> str:
    lines = ['| shape | impl | copy GB/s | AconC forward GB/s (vs copy) | '
             'AconC backward GB/s (vs copy) |', '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['shape']} | {r['impl']} | {r['copy']:.1f} | {r['fwd']:.1f} "
                     f"({r['fwd_rel']:.2f}x) | {r['bwd']:.1f} ({r['bwd_rel']:.2f}x) |")
    return '\n'.join(lines)


def to_markdown(rows) -> str:
    lines = ['| shape | activation | fwd+bwd ms | time / SiLU | saved for backward / input |',
             '|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['shape']} | {r['name']} | {r['ms']:.1f} | {r['vs_silu']:.2f}x | "
                     f"{r['saved']:.2f}x |")
    return '\n'.join(lines)


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--system-malloc', action='store_true')
    a = ap.parse_args()
    if not a.system_malloc:
        reexec_with_stable_malloc()
    print(to_markdown(run(a.device, repeats=a.repeats)))
