"""Timing and memory helpers shared by the benchmarks (and the tests that count saved
bytes): round-robin timing, paired ratios, saved bytes, the allocator setting."""
from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable

import torch


def cpu_description() -> str:
    """The processor's model name and the instruction set torch's CPU kernels use (e.g.
    ``AMD EPYC, AVX512``): ratios against SiLU move with both, as the fused kernels turn
    compute-bound where memory is fast."""
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            model = next((line.split(':', 1)[1].strip() for line in f
                          if line.startswith('model name')), '')
    except OSError:
        pass
    return ', '.join(p for p in (model, torch.backends.cpu.get_cpu_capability()) if p)


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def interleaved_times(fns: dict[str, Callable[[], object]], device: str = 'cpu',
                      warmup: int = 2, repeats: int = 9) -> dict[str, list[float]]:
    """Wall times (s) of each ``fn``, one call of each per round, ``repeats`` rounds.

    Round-robin, so that drift in the machine's speed (other jobs, frequency) lands on
    all candidates alike instead of on whichever ran last.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    return times


def interleaved_median_times(fns: dict[str, Callable[[], object]], device: str = 'cpu',
                             warmup: int = 2, repeats: int = 9) -> dict[str, float]:
    """Median wall time (s) of each ``fn``, timed round-robin (:func:`interleaved_times`)."""
    return {name: statistics.median(ts)
            for name, ts in interleaved_times(fns, device, warmup, repeats).items()}


def paired_ratios(times: dict[str, list[float]], baseline: str) -> dict[str, float]:
    """Median over rounds of each candidate's time / the baseline's time in that round.

    A ratio of two calls made moments apart cancels the machine's slow drifts, which a
    ratio of two medians (taken over different rounds' calls) does not.
    """
    base = times[baseline]
    return {name: statistics.median(t / b for t, b in zip(ts, base))
            for name, ts in times.items()}


def paired_with_baseline(fns: dict[str, Callable[[], object]], baseline: str,
                         device: str = 'cpu', warmup: int = 2, repeats: int = 9
                         ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """(wall times, ratios to ``baseline``): each candidate timed alone against the baseline.

    Candidate by candidate, the baseline and that candidate alternate for ``repeats``
    rounds (:func:`interleaved_times`) and the ratio is :func:`paired_ratios`'. So both
    calls of a pair follow each other, never a third candidate: in one round-robin over
    all candidates each call followed its predecessor in the list, and a fused kernel
    listed after a heavy eager one (which allocates and frees ~6 input-sized temporaries)
    measured ~0.2-0.3x SiLU slower at 8x64x56x56 than when it followed SiLU (2026-12-04,
    2 threads). The baseline's times are those of all its pairs.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    ratios: dict[str, float] = {baseline: 1.0}
    for name, fn in fns.items():
        if name == baseline:
            continue
        pair = interleaved_times({baseline: fns[baseline], name: fn}, device, warmup, repeats)
        times[baseline] += pair[baseline]
        times[name] = pair[name]
        ratios[name] = paired_ratios(pair, baseline)[name]
    return times, ratios


def saved_bytes(fn: Callable[..., torch.Tensor], *args) -> tuple[int, torch.Tensor]:
    """(bytes autograd keeps for backward while running ``fn(*args)``, its output).

    Each storage is counted once, however many saved tensors view it.
    """
    storages: dict = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[(s.data_ptr(), str(t.device))] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return sum(storages.values()), out


# glibc returns freed blocks of >= 128 KiB to the OS (munmap / heap trim), so
# the next same-sized tensor page-faults in fresh zeroed pages: whether a given
# step pays that ~1-2 ms at 6 MiB depends on the order of frees, and timings of the
# same op become bimodal. These settings keep freed memory mapped (as PyTorch's
# caching allocator does on CUDA), so what is timed is the kernels.
STABLE_MALLOC = {'MALLOC_MMAP_THRESHOLD_': str(32 << 20), 'MALLOC_MMAP_MAX_': '0',
                 'MALLOC_TRIM_THRESHOLD_': str(1 << 36)}


def malloc_pinned() -> bool:
    return all(os.environ.get(k) == v for k, v in STABLE_MALLOC.items())


def reexec_with_stable_malloc() -> None:
    """Restart this ``python -m benchmarks.X`` run with :data:`STABLE_MALLOC` set (once)."""
    if not malloc_pinned():
        main = sys.modules['__main__']
        spec = getattr(main, '__spec__', None)
        # run as a module: restart as one, so that its relative imports still resolve
        argv = ([sys.executable, '-m', spec.name] if spec is not None and spec.name
                else [sys.executable, sys.argv[0]])
        os.execve(sys.executable, argv + sys.argv[1:], {**os.environ, **STABLE_MALLOC})


def malloc_note() -> str:
    return ('glibc malloc with freed memory kept mapped (`benchmarks/common.py`, '
            '`STABLE_MALLOC`)' if malloc_pinned() else 'the system allocator as configured')
