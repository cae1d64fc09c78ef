"""Per-activation benchmark: forward+backward time and bytes saved for backward.

ReLU, SiLU, the plain-formula ACON-C (autograd), our AconC and MetaAconC (each impl),
at detection-backbone shapes and a small one. Ratios are taken in one process:
time / SiLU's time, saved bytes / the input's bytes.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn as nn

from common import median_time, saved_bytes
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


def run(device: str = 'cpu', shapes=SHAPES, repeats: int = 9, extra: list | None = None):
    rows = []
    for shape in shapes:
        x = torch.randn(shape, device=device, requires_grad=True)
        grad = torch.randn(shape, device=device)
        in_bytes = x.numel() * x.element_size()
        mods = candidates(shape[1]) + [(n, m(shape[1])) for n, m in (extra or [])]
        results = {}
        for name, mod in mods:
            mod = mod.to(device)

            def step():
                x.grad = None
                mod.zero_grad(set_to_none=True)
                mod(x).backward(grad)

            nbytes, out = saved_bytes(lambda: mod(x))
            out.backward(grad)
            del out
            results[name] = (median_time(step, device, repeats=repeats), nbytes / in_bytes)
        silu = results['SiLU'][0]
        for name, (t, b) in results.items():
            rows.append(dict(shape='x'.join(map(str, shape)), name=name, ms=t * 1e3,
                             vs_silu=t / silu, saved=b))
    return rows


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
    ap.add_argument('--repeats', type=int, default=9)
    a = ap.parse_args()
    print(to_markdown(run(a.device, repeats=a.repeats)))
