# Copyright (c) mmacon contributors. All rights reserved.
"""The command line of one run: ``tools/train.py`` (``--launcher none``),
``tools/dist_train.sh`` (``pytorch``, torchrun on one node) or
``tools/slurm_train.sh`` (``slurm``, one ``srun`` per run)."""
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

LAUNCHERS = ('none', 'pytorch', 'slurm')


def tools_dir() -> str:
    """The repository's ``tools/`` (a source checkout or an editable install), or the
    package's ``.mim/tools`` (a wheel)."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for candidate in (osp.join(osp.dirname(package), 'tools'), osp.join(package, '.mim', 'tools')):
        if osp.isfile(osp.join(candidate, 'train.py')):
            return candidate
    raise FileNotFoundError(f'tools/train.py not found next to the mmacon package ({package}): '
                            'run the benchmark from a source checkout (pip install -e .)')


def train_command(config: str, work_dir: str, options: List[str], resume: bool = False,
                  launcher: str = 'none', gpus: int = 1, partition: Optional[str] = None,
                  job_name: str = 'mmacon') -> List[str]:
    """argv of one run; ``options`` are ``key=value`` strings for ``--cfg-options``."""
    tools = tools_dir()
    args = (['--resume'] if resume else []) + (['--cfg-options'] + options if options else [])
    if launcher == 'none':
        return [sys.executable, osp.join(tools, 'train.py'), config, '--work-dir', work_dir] + args
    if launcher == 'pytorch':
        return ['bash', osp.join(tools, 'dist_train.sh'), config, str(gpus),
                '--work-dir', work_dir] + args
    if launcher == 'slurm':
        if not partition:
            raise ValueError('--launcher slurm needs --partition <slurm partition>')
        return ['bash', osp.join(tools, 'slurm_train.sh'), partition, job_name, config,
                work_dir] + args
    raise ValueError(f'launcher {launcher!r} is not one of {LAUNCHERS}')


def train_env(launcher: str, threads: Optional[int], gpus: int = 1, port: int = 29500,
              gpus_per_node: Optional[int] = None,
              cpus_per_task: Optional[int] = None) -> Dict[str, str]:
    """Environment of a run: this interpreter for the shell scripts, the repository on the
    path, the thread count of a local run, and a port of its own, so that parallel runs on
    one node do not collide: ``PORT`` of ``tools/dist_train.sh``, ``MASTER_PORT`` of
    mmengine's slurm launcher.

    ``slurm``: ``GPUS`` tasks in all; ``GPUS_PER_NODE`` (None: the environment's, else
    ``min(gpus, 8)``; 0: a CPU-only job without ``--gres``) and ``CPUS_PER_TASK`` (None:
    the environment's, else ``tools/slurm_train.sh``'s default of 5)."""
    env = dict(os.environ, PYTHON=sys.executable, PYTHONUNBUFFERED='1')
    repo = osp.dirname(tools_dir())
    env['PYTHONPATH'] = os.pathsep.join(p for p in (repo, env.get('PYTHONPATH')) if p)
    if threads and 'OMP_NUM_THREADS' not in os.environ:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if launcher == 'pytorch':
        env['PORT'] = str(port)
    if launcher == 'slurm':
        env['GPUS'] = str(gpus)
        env['MASTER_PORT'] = str(port)
        if gpus_per_node is not None:
            env['GPUS_PER_NODE'] = str(gpus_per_node)
        env.setdefault('GPUS_PER_NODE', str(min(gpus, 8)))
        if cpus_per_task is not None:
            env['CPUS_PER_TASK'] = str(cpus_per_task)
    return env


def launcher_env(env: Dict[str, str], launcher: str) -> Dict[str, str]:
    """The variables of ``env`` that the script of ``launcher`` reads (``--dry-run``)."""
    keys = dict(pytorch=('PORT', ),
                slurm=('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'MASTER_PORT',
                       'SRUN_ARGS')).get(launcher, ())
    return {k: env[k] for k in keys if k in env}
