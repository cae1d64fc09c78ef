"""Rebuild the wheel kit of the GPU check's model sections from the package registry
(``make gpu-kit``):

    python -m benchmarks.gpu_kit [--dest .gpu-kit] [--mmcv-wheel PATH]

The lent GPU machine has Python 3.12, torch 2.11.0 and Triton 3.6.0 but no mmengine, mmcv
or mmseg, and no network. The kit is the ten wheels its model sections (PSPNet step, torchrun)
need and nothing it already has, 5.5 MB:

- nine pure-Python (or abi3) wheels, downloaded with ``pip download --no-deps`` for CPython
  3.12 (their own requirements are on that machine already, or in this list; ``--no-deps``
  also keeps out ``opencv-python``, which mmcv and mmengine require and which the machine has
  as ``opencv-python-headless``);
- mmcv 2.1.0 with its compiled ops, which the registry has only as source: built for cp312
  against torch 2.11.0 in a virtual environment of ``--build-python`` (CUDA hidden, so its
  ops are the CPU ones: mmseg imports ``mmcv.ops``, and the PSPNet step calls none of them),
  debug info stripped from ``_ext*.so`` (32.5 MB -> 1.4 MB). The build takes about 40
  minutes on 2 cores; ``--mmcv-wheel`` takes a wheel built so before instead.

The device run names the kit in its ``carry``; ``benchmarks.gpu_check`` installs it there
with ``pip install --no-index --no-deps --target``. Writes ``SHA256SUMS`` beside the wheels.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

from .report import ROOT

PURE = ('mmengine==0.10.7', 'mmsegmentation==1.2.2', 'addict==2.4.0', 'yapf==0.43.0',
        'platformdirs==4.14.9', 'termcolor==3.3.0', 'prettytable==3.19.0', 'wcwidth==0.9.4',
        'ftfy==6.3.1')
MMCV = 'mmcv==2.1.0'
MMCV_WHEEL = 'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl'
TORCH = 'torch==2.11.0'       # the GPU machine's
TARGET = ['--python-version', '3.12', '--implementation', 'cp',
          '--platform', 'manylinux2014_x86_64', '--only-binary=:all:']


def sh(cmd: list, **kw) -> None:
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def build_mmcv(python: str, venv: str, jobs: int, out: str) -> str:
    """mmcv's cp312 wheel with CPU ops, built against :data:`TORCH`, debug info stripped."""
    vpy = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(vpy):
        sh([python, '-m', 'venv', venv])
    ver = subprocess.run([vpy, '-c', 'import sys; print(sys.version_info[:2])'],
                         capture_output=True, text=True, check=True).stdout.strip()
    if ver != '(3, 12)':
        raise SystemExit(f'--build-python must be a CPython 3.12 (the GPU machine\'s), '
                         f'{vpy} is {ver}')
    sh([vpy, '-m', 'pip', 'install', '-q', TORCH, 'numpy', 'ninja', 'wheel',
        'setuptools>=77.0.3,<82'])
    work = tempfile.mkdtemp(prefix='mmcv-build-')
    env = dict(os.environ, MMCV_WITH_OPS='1', MAX_JOBS=str(jobs), CUDA_VISIBLE_DEVICES='',
               FORCE_CUDA='0')
    sh([vpy, '-m', 'pip', 'wheel', '--no-build-isolation', '--no-deps', '--no-binary', 'mmcv',
        '-w', work, MMCV], env=env)
    return strip_wheel(vpy, os.path.join(work, MMCV_WHEEL), out)


def strip_wheel(python: str, wheel: str, out: str) -> str:
    """``wheel`` repacked into ``out`` with the debug info of its ``_ext*.so`` stripped."""
    unpacked = tempfile.mkdtemp(prefix='mmcv-unpacked-')
    sh([python, '-m', 'wheel', 'unpack', '-d', unpacked, wheel])
    libs = glob.glob(os.path.join(unpacked, '*', 'mmcv', '_ext*.so'))
    if not libs:
        raise SystemExit(f'{wheel} has no mmcv/_ext*.so: built without MMCV_WITH_OPS=1?')
    for so in libs:
        sh(['strip', '--strip-debug', so])
    sh([python, '-m', 'wheel', 'pack', '-d', out, *glob.glob(os.path.join(unpacked, '*'))])
    shutil.rmtree(unpacked)
    return os.path.join(out, os.path.basename(wheel))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dest', default=os.path.join(ROOT, '.gpu-kit'))
    ap.add_argument('--mmcv-wheel', help=f'take this {MMCV_WHEEL} instead of building it')
    ap.add_argument('--build-python', default='python3.12',
                    help='a CPython 3.12 to build mmcv with (its venv gets torch 2.11.0)')
    ap.add_argument('--build-venv',
                    default=os.path.expanduser('~/.cache/mmacon/gpu-kit-build-venv'))
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    a = ap.parse_args(argv)
    tmp = a.dest.rstrip('/') + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    sh([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', *TARGET, '-d', tmp, *PURE])
    if a.mmcv_wheel:
        if os.path.basename(a.mmcv_wheel) != MMCV_WHEEL:
            raise SystemExit(f'--mmcv-wheel must be a {MMCV_WHEEL}, got {a.mmcv_wheel}')
        shutil.copy(a.mmcv_wheel, tmp)
    else:
        build_mmcv(a.build_python, a.build_venv, a.jobs, tmp)
    wheels = sorted(os.path.basename(w) for w in glob.glob(os.path.join(tmp, '*.whl')))
    if len(wheels) != len(PURE) + 1:
        raise SystemExit(f'expected {len(PURE) + 1} wheels, got {wheels}')
    with open(os.path.join(tmp, 'SHA256SUMS'), 'w') as f:
        for w in wheels:
            with open(os.path.join(tmp, w), 'rb') as g:
                f.write(f'{hashlib.sha256(g.read()).hexdigest()}  {w}\n')
    shutil.rmtree(a.dest, ignore_errors=True)
    os.replace(tmp, a.dest)
    size = sum(os.path.getsize(os.path.join(a.dest, w)) for w in wheels)
    print(f'{a.dest}: {len(wheels)} wheels, {size / 1e6:.1f} MB'
          + (f' (mmcv from {a.mmcv_wheel})' if a.mmcv_wheel else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
