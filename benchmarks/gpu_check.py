"""The GPU check (``make gpu-check``): CUDA tests, CUDA benchmark tables, a PSPNet AMP step
and a 1-process NCCL torchrun, in one command on a lent GPU machine.

    python3 -m benchmarks.gpu_check [--kit .gpu-kit] [--out-dir $OUT] [--budget 480]

Each section of :mod:`benchmarks.gpu_sections` runs in a process of its own, with a time
limit taken from one budget, so that a crash, a hang or a missing package stops that section
alone; each one says what it ran, or why it could not. The wheel kit (``make gpu-kit``:
mmengine, mmcv, mmseg) is installed with ``pip install --no-index --no-deps --target`` into a
temporary folder, which is added to ``PYTHONPATH`` (extended, never replaced, for every child,
torchrun's workers included) of the sections that use it: never for ``environment``, which
checks that :mod:`mmacon.ops` imports with torch alone; where it is installed for the kernel
sections (their Meta-ACON rows and the tests that build modules need :mod:`mmacon.models`),
which without it run what torch alone can and say what they left out; always for the model
sections.

Writes the CUDA section of ``docs/benchmarks.md`` (a rehearsal without CUDA writes it in a copy
in the output folder instead) and, with ``--out-dir``, copies there
``benchmarks.md`` (the whole file), ``gpu_check.json`` (every figure, each section's
status and time) and ``gpu_check.log`` (all output), after each section, so a run cut short
keeps what finished. Exit status: 0 every section ran on CUDA and passed; 1 a section
failed, crashed or ran out of time; 2 none failed, but some could not run (no CUDA device,
no kit), each saying why.

Standard library only: this driver must start wherever Python does.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from .report import DOC, ROOT, write_cuda_section


NEVER, OPTIONAL, REQUIRED = 'never', 'optional', 'required'


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    kit: str       # the wheel kit (mmengine, mmcv, mmseg) on PYTHONPATH: NEVER/OPTIONAL/REQUIRED
    limit_s: int   # at most this long, and at most what is left of the budget


SECTIONS = (
    Section('environment', 'Environment (torch alone)', NEVER, 60),
    Section('ops-tests', 'CUDA tests of tests/test_ops', OPTIONAL, 150),
    Section('activation-tables', 'Per activation: forward+backward vs SiLU, bandwidth vs a '
            'device copy, saved bytes vs the input', OPTIONAL, 200),
    Section('activation-tests', 'CUDA tests of the activation modules', REQUIRED, 120),
    Section('pspnet-step', 'PSPNet R-50-D8 training step, 2x3x512x1024, AMP (bfloat16 '
            'autocast): time and peak memory vs ReLU', REQUIRED, 150),
    Section('torchrun', '1-process NCCL torchrun of configs/tiny/'
            'pspnet_r18-d8-aconc_tiny-cityscapes.py', REQUIRED, 150),
)
# statuses a section reports: ran and passed / could not run here, said why / the rest fail
OK, NOT_RUN = {'ok'}, {'no-cuda', 'skipped'}
OUT_FILES = ('benchmarks.md', 'gpu_check.json', 'gpu_check.log')


class Log:
    """Print to stdout and append to the log file, line by line, from several threads."""

    def __init__(self, path: str):
        self.file = open(path, 'a', buffering=1)
        self.lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self.lock:
            sys.stdout.write(text if text.endswith('\n') else text + '\n')
            sys.stdout.flush()
            self.file.write(text if text.endswith('\n') else text + '\n')


def install_kit(kit: str, log: Log) -> tuple[str | None, str]:
    """pip-install the kit's wheels into a fresh folder: (that folder or None, a note)."""
    wheels = sorted(glob.glob(os.path.join(kit, '*.whl')))
    if not wheels:
        rel = os.path.relpath(kit, ROOT)
        return None, (f'no wheel kit: {rel}/ holds no wheels (make gpu-kit, then name {rel!r} '
                      "in the device run's carry)")
    site = tempfile.mkdtemp(prefix='mmacon-gpu-kit-')
    cmd = [sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps',
           '--no-compile', '--no-cache-dir', '--disable-pip-version-check', '--target', site,
           *wheels]
    log(f'$ {shlex.join(cmd)}')
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f'the kit did not install: {type(e).__name__}: {e}'
    log(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        return None, (f'the kit did not install (pip exit {proc.returncode}): '
                      + (proc.stderr.strip().splitlines() or ['no output'])[-1][:300])
    return site, (f'{len(wheels)} wheels from {os.path.relpath(kit, ROOT)}/ installed with '
                  f'`pip install --no-index --no-deps --target` in {time.time() - t0:.0f} s: '
                  + ', '.join(os.path.basename(w).split('-')[0] + ' '
                              + os.path.basename(w).split('-')[1] for w in wheels))


def child_env(site: str | None) -> dict:
    """This environment with the checkout (and the kit) put in front of PYTHONPATH."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    paths = [ROOT] + ([site] if site else []) + [p for p in [env.get('PYTHONPATH')] if p]
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


def run_section(sec: Section, limit: float, site: str | None, args, log: Log, tmp: str) -> dict:
    """Run one section in its own process group; its JSON, or what is known of its end."""
    path = os.path.join(tmp, f'{sec.name}.json')
    cmd = [sys.executable, '-m', 'benchmarks.gpu_sections', sec.name, '--json', path,
           '--repeats', str(args.repeats), '--deadline', str(time.time() + limit)]
    if args.cpu_dry_run:
        cmd.append('--cpu-dry-run')
    log(f'\n===== {sec.name} (limit {limit:.0f} s, kit {"on" if site else "off"} '
        f'PYTHONPATH)\n$ {shlex.join(cmd)}')
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(site), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors='replace',
                            start_new_session=True)
    reader = threading.Thread(target=lambda: [log(line) for line in proc.stdout], daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)        # pytest workers, torchrun's children too
                proc.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
    reader.join(timeout=5)
    result = {}
    if os.path.exists(path):
        try:
            with open(path) as f:
                result = json.load(f)
        except ValueError:
            result = {}
    result.setdefault('markdown', '')
    if timed_out:
        result['status'] = 'timeout'
        result['note'] = (f'stopped at its {limit:.0f} s limit; what it had written before '
                          'is kept above')
    elif proc.returncode != 0 and result.get('status') in (None, 'running', 'ok'):
        result['status'] = 'crashed'
        result['note'] = f'exit {proc.returncode} without a verdict (see gpu_check.log)'
    result.setdefault('status', 'crashed')
    result.update(name=sec.name, title=sec.title, seconds=round(time.time() - t0, 1),
                  kit=bool(site), exit=proc.returncode)
    log(f'----- {sec.name}: {result["status"]} in {result["seconds"]:.0f} s'
        + (f' ({result["note"]})' if result.get('note') else ''))
    return result


def section_markdown(results: list, header: list, total: float | None) -> str:
    parts = list(header)
    for r in results:
        parts += [f"### {r['title']} ({r['seconds']:.0f} s, {r['status']})", '']
        if r.get('markdown'):
            parts += [r['markdown'].strip(), '']
        if r.get('note'):
            parts += [f"{r['note'][0].upper()}{r['note'][1:]}.".replace('..', '.'), '']
    if total is not None:
        parts += [f'Total: {total:.0f} s.']
    return '\n'.join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--kit', default=os.path.join(ROOT, '.gpu-kit'),
                    help='folder of wheels: mmengine, mmcv, mmseg (make gpu-kit)')
    ap.add_argument('--out-dir', help='copy benchmarks.md, gpu_check.json and the log here')
    ap.add_argument('--doc', default=DOC, help='the benchmarks page whose CUDA section to write')
    ap.add_argument('--budget', type=float, default=480,
                    help='seconds for all sections; each also has its own limit')
    ap.add_argument('--repeats', type=int, default=15, help='timed rounds per table row')
    ap.add_argument('--only', help='comma-separated section names (default: all)')
    ap.add_argument('--cpu-dry-run', action='store_true',
                    help='without CUDA, run each section at toy sizes on the CPU (a rehearsal)')
    args = ap.parse_args(argv)
    start = time.time()
    tmp = tempfile.mkdtemp(prefix='mmacon-gpu-check-')
    out = args.out_dir or tmp
    os.makedirs(out, exist_ok=True)
    log = Log(os.path.join(out, 'gpu_check.log'))
    command = shlex.join([os.path.basename(sys.executable), '-m', 'benchmarks.gpu_check',
                          *(argv if argv is not None else sys.argv[1:])])
    log(f'{time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}: {command} (in {ROOT})')
    chosen = [s for s in SECTIONS if not args.only or s.name in args.only.split(',')]
    site, kit_note = (None, 'not needed')
    if any(s.kit != NEVER for s in chosen):
        site, kit_note = install_kit(os.path.abspath(args.kit), log)
        log(f'kit: {kit_note}')
    header = ['## CUDA', '',
              f'Written by `{command}` (`make gpu-check`, see benchmarks/README.md) on '
              f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}. Each section ran in a '
              'process of its own; ratios are taken within one process, as medians over rounds '
              'of a candidate and its baseline timed back to back. Under autocast the input is '
              "already in the low-precision dtype (as a conv's output would be) and the "
              'parameters are float32.', '', f'Wheel kit: {kit_note}.', '']
    results: list = []
    summary = {'command': command, 'root': ROOT, 'kit': kit_note, 'sections': results}

    def page() -> str:
        """The page to write: the one --doc names, but a rehearsal (--cpu-dry-run, or an
        environment section that found no CUDA) writes a copy in ``out`` instead of the
        repository's docs/benchmarks.md, whose CUDA figures it must not replace."""
        rehearsal = args.cpu_dry_run or any(
            r['name'] == 'environment' and r['status'] == 'no-cuda' for r in results)
        if not rehearsal or args.doc != DOC:
            return args.doc
        copy = os.path.join(out, 'benchmarks.md')
        if not os.path.exists(copy):
            shutil.copyfile(args.doc, copy)
        return copy

    def save(total=None):
        doc = page()
        write_cuda_section(doc, section_markdown(results, header, total))
        summary['total_s'] = round(time.time() - start, 1)
        summary['page'] = doc
        with open(os.path.join(out, 'gpu_check.json'), 'w') as f:
            json.dump(summary, f, indent=1)
        copy = os.path.join(out, 'benchmarks.md')
        if args.out_dir and os.path.abspath(doc) != os.path.abspath(copy):
            shutil.copyfile(doc, copy)

    for sec in chosen:
        left = args.budget - (time.time() - start)
        if sec.kit == REQUIRED and site is None:
            results.append(dict(name=sec.name, title=sec.title, status='skipped', seconds=0,
                                markdown='', note=f'not run: {kit_note}'))
        elif left < 15:
            results.append(dict(name=sec.name, title=sec.title, status='skipped', seconds=0,
                                markdown='', note=f'not run: the {args.budget:.0f} s budget was '
                                'spent before it could start'))
        else:
            # a CPU twin compiles and runs the toy sizes several times slower than the GPU box
            limit = sec.limit_s * (4 if args.cpu_dry_run else 1)
            results.append(run_section(sec, min(limit, left),
                                       None if sec.kit == NEVER else site, args, log, tmp))
        save()
    total = time.time() - start
    save(total)
    statuses = [r['status'] for r in results]
    if all(s in OK for s in statuses):
        rc = 0
    else:
        rc = 2 if all(s in OK | NOT_RUN for s in statuses) else 1
    log('\n' + '\n'.join(f"{r['name']:>18}: {r['status']:<8} {r['seconds']:6.0f} s"
                         + (f"  {r['note']}" if r.get('note') else '') for r in results))
    log(f'total {total:.0f} s; exit {rc} (0 all passed on CUDA, 1 a section failed, '
        f'2 some could not run); files: {out}')
    return rc


if __name__ == '__main__':
    sys.exit(main())
