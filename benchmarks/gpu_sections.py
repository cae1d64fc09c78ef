"""The sections of the GPU check, one per process (``benchmarks.gpu_check`` runs them):

    python -m benchmarks.gpu_sections NAME --json PATH [--cpu-dry-run] [--repeats N]

Each writes its verdict to PATH as it goes (``status``, ``markdown``, ``figures``,
``note``), so what finished survives a kill. Without CUDA a section does everything that
does not need the device (imports, builds, test collection) and stops with status
``no-cuda``; ``--cpu-dry-run`` instead runs the same code at toy sizes on the CPU, to
rehearse the check where there is no GPU.

``environment`` imports torch, Triton and :mod:`mmacon.ops` alone; ``ops-tests`` and
``activation-tables`` run with torch alone too, and use mmengine and mmcv (the kit) where
they are importable, for what needs :mod:`mmacon.models`; the others need the kit.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import torch

from .report import ROOT

SHAPES = [(2, 64, 200, 336), (2, 256, 100, 168), (8, 64, 56, 56)]
DRY_SHAPES = [(2, 16, 12, 20)]
# the bandwidth table times the kernels' halves alone (the per-activation table also has
# torch.compile's rows: bench_activations.cuda_candidates says which)
BANDWIDTH_IMPLS = ('triton', 'eager')
KIT_PACKAGES = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')
AMP_DTYPES = {'float32': None, 'bfloat16 (autocast)': torch.bfloat16,
              'float16 (autocast)': torch.float16}
# the tests that touch CUDA: name CUDA tests test_cuda_* (or put them in test_triton_*.py);
# the CPU ones (the C++ kernels' build included) are CI's
OPS_TESTS_K = 'cuda or triton'
TINY_CONFIG = 'configs/tiny/pspnet_r18-d8-aconc_tiny-cityscapes.py'
CUDA = torch.cuda.is_available()
NO_CUDA = 'CUDA not available (torch.cuda.is_available() is False)'


class Verdict:
    """The section's JSON file, rewritten at each update."""

    def __init__(self, path: str):
        self.path, self.data = path, {'status': 'running', 'markdown': '', 'figures': {}}
        self.write()

    def write(self) -> None:
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.data, f, indent=1, default=str)
        os.replace(tmp, self.path)

    def add(self, markdown: str = '', **figures) -> None:
        if markdown:
            self.data['markdown'] = (self.data['markdown'] + '\n\n' + markdown).strip()
        self.data['figures'].update(figures)
        self.write()

    def end(self, status: str, note: str = '') -> None:
        self.data['status'] = status
        if note:
            self.data['note'] = note
        self.write()


def run_group(cmd: list, timeout: float, **kw) -> subprocess.CompletedProcess | None:
    """Run ``cmd`` in a process group of its own; at ``timeout`` kill the whole group
    (pytest's workers, torchrun's processes) and return None."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kw)
    try:
        out, err = proc.communicate(timeout=max(timeout, 10))
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.communicate(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        return None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _first_line(e: BaseException) -> str:
    return f'{type(e).__name__}: {(str(e).splitlines() or [""])[0][:300]}'


def _importable(name: str) -> str:
    try:
        module = importlib.import_module(name)
        return str(getattr(module, '__version__', 'importable'))
    except Exception as e:  # noqa: BLE001 - reported
        return f'not importable ({_first_line(e)})'


# ---------------------------------------------------------------------------- environment


def environment(v: Verdict, a) -> None:
    lines = [f'- Python {platform.python_version()}, torch {torch.__version__} '
             f'(CUDA {torch.version.cuda}), triton {_importable("triton")}, '
             f'{os.cpu_count()} CPUs']
    if CUDA:
        p = torch.cuda.get_device_properties(0)
        lines.append(f'- device: {p.name}, compute capability {p.major}.{p.minor}, '
                     f'{p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs')
    else:
        lines.append(f'- device: none ({NO_CUDA})')
    if shutil.which('nvidia-smi'):
        try:
            q = subprocess.run(['nvidia-smi', '--query-gpu=driver_version,clocks.sm,'
                                'clocks.max.sm,power.limit,temperature.gpu',
                                '--format=csv,noheader'], capture_output=True, text=True,
                               timeout=30)
            smi = q.stdout.strip() or q.stderr.strip()[:200]
        except (OSError, subprocess.TimeoutExpired) as e:
            smi = _first_line(e)
        lines.append(f'- nvidia-smi (driver, SM clock, max SM clock, power limit, '
                     f'temperature): {smi}')
    t0 = time.time()
    ops = _importable('mmacon.ops')
    lines.append(f'- `import mmacon.ops` with torch alone: '
                 f'{"ok" if "not importable" not in ops else ops} ({time.time() - t0:.1f} s); '
                 f'mmengine {_importable("mmengine")}')
    if 'not importable' not in ops:
        from mmacon import ops as mops
        x = torch.randn(2, 4, 3, 3, device='cuda' if CUDA else 'cpu')
        c = torch.ones(1, 4, 1, 1, device=x.device)
        try:
            why = mops.explain_impl('auto', x, c, c, c)
            auto = mops.resolve_impl('auto', x, c, c, c) + (f' ({why})' if why else '')
        except Exception as e:  # noqa: BLE001 - an API change is not a reason to stop here
            auto = f'could not ask ({_first_line(e)})'
        lines.append(f"- impl='auto' on {x.device.type}: {auto}")
    v.add('\n'.join(lines), torch=torch.__version__, cuda=torch.version.cuda,
          device=torch.cuda.get_device_name() if CUDA else None)
    if 'not importable' in ops:
        v.end('failed', f'mmacon.ops does not import with torch alone: {ops}')
    else:
        v.end('ok' if CUDA else 'no-cuda', '' if CUDA else NO_CUDA)


# ---------------------------------------------------------------------------- tests


def _junit(xml: str) -> tuple[dict, list, list]:
    """(counts by outcome, failed test ids, files not collected for want of the kit).

    A file that does not import because an OpenMMLab package is missing here is not a
    failure of the kernels: it is listed apart (where the package is installed, it is one).
    """
    counts, failed, uncollected = {}, [], []
    if not os.path.exists(xml):
        return counts, failed, uncollected
    for case in ET.parse(xml).getroot().iter('testcase'):
        child = next((c for c in case if c.tag in ('failure', 'error', 'skipped')), None)
        kind = 'passed' if child is None else child.tag
        name = '::'.join(p for p in (case.get('classname'), case.get('name')) if p)
        if kind == 'error' and child.get('message') == 'collection failure':
            missing = re.search(r"No module named '(\w+)", child.text or '')
            if missing and missing.group(1) in KIT_PACKAGES and \
                    importlib.util.find_spec(missing.group(1)) is None:
                uncollected.append(f'{name} (needs {missing.group(1)})')
                continue
        counts[kind] = counts.get(kind, 0) + 1
        if kind in ('failure', 'error'):
            failed.append(name)
    return counts, failed, uncollected


def _pytest(v: Verdict, a, paths: list, k: str, workers: int, label: str) -> None:
    """Run (on CUDA) or collect (without) the selected tests; counts from JUnit XML."""
    tmp = tempfile.mkdtemp(prefix='mmacon-tests-')
    xml = os.path.join(tmp, 'junit.xml')
    cmd = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *paths, '-k', k,
           '-o', 'addopts=-ra', '--continue-on-collection-errors', f'--junitxml={xml}']
    xdist = (['-n', str(workers), '--dist', 'load']
             if workers > 1 and importlib.util.find_spec('xdist') is not None else [])
    env = dict(os.environ)
    # a fresh Triton cache, to count what the tests compile
    env['TRITON_CACHE_DIR'] = cache = os.path.join(tmp, 'triton-cache')
    shown = 'pytest ' + shlex.join([*paths, '-k', k, *xdist])
    if not (CUDA or a.cpu_dry_run):
        proc = subprocess.run(cmd[:3] + ['--collect-only'] + cmd[3:], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        print('\n'.join((proc.stdout + proc.stderr).splitlines()[-8:]), flush=True)
        n = re.search(r'(\d+)(?:/\d+)? tests? (?:collected|selected)', proc.stdout)
        _, failed, uncollected = _junit(xml)
        if failed or not n:
            v.add(f'`{shown}` could not be collected (exit {proc.returncode}).\n\n```\n'
                  + '\n'.join(failed + proc.stdout.splitlines()[-25:]) + '\n```')
            v.end('failed', f'the {label} tests could not be collected')
            return
        v.add(f'`{shown}`: {n.group(1)} tests collected; not run.'
              + (f" Not collected without the kit: {', '.join(uncollected)}." if uncollected
                 else ''), collected=int(n.group(1)), uncollected=uncollected)
        v.end('no-cuda', NO_CUDA)
        return
    t0 = time.time()
    proc = run_group(cmd + xdist, a.deadline - time.time() - 15, cwd=ROOT, env=env)
    rc = None if proc is None else proc.returncode
    counts, failed, uncollected = _junit(xml)
    kernels = sum(1 for _, _, files in os.walk(cache) for f in files if f.endswith('.cubin'))
    took = time.time() - t0
    text = (f'`{shown}` -> ' + ('timed out' if rc is None else f'exit {rc}') + ': '
            + ', '.join(f'{n} {k}' for k, n in sorted(counts.items()))
            + f' in {took:.0f} s; {kernels} Triton kernels compiled into a fresh cache.')
    if uncollected:
        text += f" Not collected without the kit: {', '.join(uncollected)}."
    if failed:
        text += '\n\n```\n' + '\n'.join(failed[:30]) + '\n```'
    v.add(text, counts=counts, failed=failed, uncollected=uncollected, triton_kernels=kernels,
          seconds=round(took, 1))
    # exit 1 with nothing failed: only the files listed as needing the kit
    if rc not in (0, 1) or failed or (rc == 1 and not uncollected) or not counts:
        v.end('failed', '' if CUDA else 'on the CPU (--cpu-dry-run)')
    else:
        v.end('ok' if CUDA else 'no-cuda', '' if CUDA else f'{NO_CUDA}: ran on the CPU '
              '(--cpu-dry-run)')


def ops_tests(v: Verdict, a) -> None:
    # xdist workers split the tests, and with them the Triton compilations (~0.4 s each)
    _pytest(v, a, ['tests/test_ops'], OPS_TESTS_K, min(8, os.cpu_count() or 1), 'ops')


def activation_tests(v: Verdict, a) -> None:
    # the modules' own CUDA tests; the other files of that folder import mmdet
    _pytest(v, a, [f'tests/test_models/test_activations/{f}.py' for f in ('test_acon',
                                                                          'test_meta_acon')],
            'cuda', 1, 'activation')


# ---------------------------------------------------------------------------- tables


class RecompileLimitHits(logging.Handler):
    """Counts dynamo's 'hit config.recompile_limit' warnings: after one, that function
    runs eagerly, so a 'compiled' row would time eager code."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.hits: list = []

    def emit(self, record):
        msg = record.getMessage()
        if 'hit config.' in msg and 'recompile_limit' in msg:
            self.hits.append(msg.splitlines()[0] + ' ' + ' '.join(
                ln.strip() for ln in msg.splitlines()[1:3]))


# issue 19's targets on the H200, at the two large shapes, in float32 and bfloat16
KERNEL_TARGETS = (('AconC (triton)', 'vs_silu', '<=', 1.1, 'AconC fwd+bwd time / SiLU'),
                  ('MetaAconC (triton)', 'vs_silu', '<=', 1.4, 'MetaAconC fwd+bwd time / SiLU'),
                  ('triton', 'fwd_rel', '>=', 0.85, 'AconC forward bandwidth / copy'),
                  ('triton', 'bwd_rel', '>=', 0.85, 'AconC backward bandwidth / copy'))
STEP_TARGETS = (('ACON-C', 'vs_relu', 1.05, 'time'), ('Meta-ACON', 'vs_relu', 1.12, 'time'),
                ('ACON-C', 'mem_vs_relu', 1.03, 'peak memory'),
                ('Meta-ACON', 'mem_vs_relu', 1.03, 'peak memory'))


def _met(value: float, op: str, limit: float) -> str:
    return 'yes' if (value <= limit if op == '<=' else value >= limit) else '**no**'


def kernel_targets(figures: dict, shapes) -> str:
    """The targets' table: each measured figure against its limit."""
    lines = ['| target | dtype, shape | limit | measured | met |', '|---|---|---|---|---|']
    for key, t in figures.items():
        dtype, shape = key.split()
        if dtype not in ('float32', 'bfloat16') or shape not in shapes:
            continue
        for name, col, op, limit, label in KERNEL_TARGETS:
            rows = t['rows'] if col == 'vs_silu' else t['bandwidth']
            for r in rows:
                if r.get('name', r.get('impl')) == name and col in r:
                    lines.append(f'| {label} | {key} | {op} {limit} | {r[col]:.3f} | '
                                 f'{_met(r[col], op, limit)} |')
    return '\n'.join(lines)


def step_targets(rows: list) -> str:
    lines = ['| target | limit | measured | met |', '|---|---|---|---|']
    for act, col, limit, what in STEP_TARGETS:
        for r in rows:
            if r['act'] == act:
                lines.append(f'| {act} step {what} / ReLU | <= {limit} | {r[col]:.3f} | '
                             f"{_met(r[col], '<=', limit)} |")
    return '\n'.join(lines)


def activation_tables(v: Verdict, a) -> None:
    from . import bench_activations as ba
    device = 'cuda' if CUDA else 'cpu'
    shapes = SHAPES if CUDA else DRY_SHAPES
    built = [name for name, _ in ba.cuda_candidates(64)]
    if not (CUDA or a.cpu_dry_run):
        v.add(f'Imported `benchmarks.bench_activations` and built its {len(built)} candidates '
              f'({", ".join(built)}); no table run.')
        v.end('no-cuda', NO_CUDA)
        return
    import torch._dynamo
    # per dtype the compiled halves see Parameters (AconC) and tensors (MetaAconC's beta),
    # per-channel and per-sample beta: 4-5 variants each; a training run sees fewer. The
    # limit is raised for headroom, and a hit is still detected and reported.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 32)
    hits = RecompileLimitHits()
    logging.getLogger('torch._dynamo').addHandler(hits)
    logging.getLogger('torch._dynamo.convert_frame').addHandler(hits)
    repeats = a.repeats if CUDA else 2
    dtypes = AMP_DTYPES if CUDA else dict(list(AMP_DTYPES.items())[:2])
    torch.manual_seed(0)
    figures = {}
    for label, dtype in dtypes.items():
        # one dtype's compiled functions at a time: every shape of a dtype shares them
        # (dynamic=True), and a training run sees one dtype, not three
        torch._dynamo.reset()
        for shape in shapes:
            t0 = time.time()
            rows = ba.run(device, shapes=[shape], repeats=repeats, amp_dtype=dtype,
                          make_candidates=ba.cuda_candidates)
            bw = ba.bandwidth(device, shapes=[shape], repeats=repeats, impls=BANDWIDTH_IMPLS,
                              dtype=dtype or torch.float32)
            key = f"{label.split()[0]} {'x'.join(map(str, shape))}"
            figures[key] = {'rows': rows, 'bandwidth': bw, 'seconds': round(time.time() - t0, 1)}
            v.add(f'#### {label}, {key.split()[1]} ({time.time() - t0:.0f} s)\n\n'
                  + ba.to_markdown(rows) + '\n\n' + ba.bandwidth_markdown(bw),
                  tables=figures, recompile_limit_hits=hits.hits)
    large = ['x'.join(map(str, s)) for s in shapes[:2]]
    v.add('#### Targets (issue 19: two large shapes, float32 and bfloat16)\n\n'
          + kernel_targets(figures, large))
    if hits.hits:
        v.add("**torch.compile hit its recompile limit**: the 'compiled' rows after this "
              'point timed eager code.\n\n```\n' + '\n'.join(hits.hits[:10]) + '\n```')
    else:
        v.add("torch.compile's recompile limit was not hit: the 'compiled' rows timed "
              'compiled code.')
    errors = [r for t in figures.values() for r in t['rows'] + t['bandwidth'] if 'error' in r]
    # without the kit, the rows of modules that need mmacon.models say so: not a failure
    kit_rows = [r for r in errors if importlib.util.find_spec('mmengine') is None
                and any(p in r['error'] for p in ('mmengine', 'mmcv'))]
    if CUDA:
        real = len(errors) - len(kit_rows)
        v.end('failed' if real or hits.hits else 'ok',
              '; '.join(([f'{real} rows could not run'] if real else [])
                        + ([f'{len(kit_rows)} rows need the kit (mmacon.models)']
                           if kit_rows else [])))
    else:
        v.end('no-cuda', f'{NO_CUDA}: ran at {DRY_SHAPES[0]} on the CPU (--cpu-dry-run); '
              f'{len(errors)} rows could not run there (triton needs CUDA)')


# ---------------------------------------------------------------------------- models


def pspnet_step(v: Verdict, a) -> None:
    from . import bench_models as bm
    model = 'PSPNet R-50-D8'
    scope, pattern = bm.MODELS[model]
    if not (CUDA or a.cpu_dry_run):
        t0, built = time.time(), []
        for act, tag in bm.ACTS.items():
            m = bm.build(scope, pattern.format(tag), 'cpu')
            n = sum(p.numel() for p in m.parameters())
            built.append(f'- built `{pattern.format(tag)}` ({act}): {n / 1e6:.2f} M parameters')
            del m
        v.add('\n'.join(built))
        v.end('no-cuda', f'{NO_CUDA}: the three models were built on the CPU '
              f'({time.time() - t0:.0f} s); no step run')
        return
    if CUDA:
        torch.backends.cudnn.benchmark = True   # as the Cityscapes configs train
        device, n, hw, repeats = 'cuda', 2, (512, 1024), 5
    else:
        device, n, hw, repeats = 'cpu', 2, (64, 128), 1   # 2: BN on the 1x1 pooled map
    rows = bm.run(device, n=n, hw=hw, repeats=repeats, models=(model,), amp_dtype=torch.bfloat16)
    v.add(f'{n}x3x{hw[0]}x{hw[1]}, median of {repeats} rounds after 1 warm-up:\n\n'
          + bm.to_markdown(rows, device) + '\n\nTargets (issue 19):\n\n'
          + step_targets(rows), rows=rows)
    v.end('ok' if CUDA else 'no-cuda',
          '' if CUDA else f'{NO_CUDA}: ran at {n}x3x{hw[0]}x{hw[1]} on the CPU (--cpu-dry-run)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(v: Verdict, a) -> None:
    from mmacon.tiny_data import make_tiny_cityscapes
    backend = 'nccl' if CUDA else 'gloo'
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, 'tiny_cityscapes')
        make_tiny_cityscapes(root, num_train=4, num_val=2)
        opts = [f'{k}.dataset.data_root={root}' for k in
                ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        opts += ['train_cfg.max_iters=3', 'train_cfg.val_interval=1000', 'randomness.seed=0',
                 f'env_cfg.dist_cfg.backend={backend}', 'default_hooks.checkpoint.interval=1000',
                 'default_hooks.logger.interval=1']
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=1',
               f'--master_port={_free_port()}', 'tools/train.py', TINY_CONFIG,
               '--launcher', 'pytorch', '--work-dir', os.path.join(tmp, 'work'),
               '--cfg-options', *opts]
        shown = f'torchrun --nproc_per_node=1 tools/train.py {TINY_CONFIG} --launcher pytorch'
        if not (CUDA or a.cpu_dry_run):
            v.add(f'Made the tiny Cityscapes data; prepared `{shown}` (NCCL needs CUDA).')
            v.end('no-cuda', NO_CUDA)
            return
        t0 = time.time()
        # the environment is inherited: PYTHONPATH keeps the checkout and the kit
        proc = run_group(cmd, a.deadline - time.time() - 15, cwd=ROOT, text=True, errors='replace',
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc is None:
        v.add(f'`{shown}` did not finish in time (stopped with its processes).')
        v.end('failed', 'torchrun ran out of time')
        return
    log = proc.stdout
    print(log[-6000:], flush=True)
    checks = {f'exit 0 (got {proc.returncode})': proc.returncode == 0,
              '3 iterations (`Iter(train) [3/3]` logged)': 'Iter(train) [3/3]' in log,
              f"the {backend} backend (`'backend': '{backend}'` logged)":
                  f"'backend': '{backend}'" in log}
    ok = all(checks.values())
    text = (f'`{shown}` ({time.time() - t0:.0f} s): '
            + (f'passed: 3 iterations with the {backend} backend' if ok else 'failed, missing: '
               + '; '.join(k for k, good in checks.items() if not good)) + '.')
    if not ok:
        keep = [ln for ln in log.splitlines()
                if 'Error' in ln or 'Iter(train)' in ln or 'backend' in ln]
        text += '\n\n```\n' + '\n'.join((keep or log.splitlines())[-25:]) + '\n```'
    v.add(text, checks=checks)
    if CUDA:
        v.end('ok' if ok else 'failed')
    else:
        v.end('no-cuda' if ok else 'failed', f'{NO_CUDA}: ran with gloo on the CPU '
              '(--cpu-dry-run)')


SECTIONS = {'environment': environment, 'ops-tests': ops_tests,
            'activation-tables': activation_tables, 'activation-tests': activation_tests,
            'pspnet-step': pspnet_step, 'torchrun': torchrun}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('section', choices=list(SECTIONS))
    ap.add_argument('--json', required=True)
    ap.add_argument('--repeats', type=int, default=15)
    ap.add_argument('--deadline', type=float, default=float('inf'),
                    help='time.time() by which the section must be done')
    ap.add_argument('--cpu-dry-run', action='store_true')
    a = ap.parse_args(argv)
    v = Verdict(a.json)
    try:
        SECTIONS[a.section](v, a)
    except Exception as e:  # noqa: BLE001 - the verdict says what broke, and where
        import traceback
        traceback.print_exc()
        frame = traceback.extract_tb(e.__traceback__)[-1]
        v.end('failed', f'{_first_line(e)} ({os.path.relpath(frame.filename, ROOT)}:'
              f'{frame.lineno})')
    note = f": {v.data['note']}" if v.data.get('note') else ''
    print(f"[{a.section}] {v.data['status']}{note}", flush=True)
    return 0 if v.data['status'] in ('ok', 'no-cuda', 'skipped') else 1


if __name__ == '__main__':
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
