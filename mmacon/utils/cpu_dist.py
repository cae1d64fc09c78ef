"""CPU-only distributed training with mmengine 0.10.7's Runner.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` for the ``pytorch``,
``slurm`` and ``mpi`` launchers, and its Runner wraps the model with
``device_ids=[LOCAL_RANK]``; both fail on a machine without CUDA. When CUDA is
absent, :func:`setup_cpu_distributed` prepares the same environment variables
mmengine would, initialises a ``gloo`` process group itself (the Runner skips
``init_dist`` when ``torch.distributed`` is already initialised) and asks for a
CPU ``MMDistributedDataParallel`` (``device_ids=None``). With CUDA present it
changes nothing.
"""
from __future__ import annotations

import datetime
import os
import subprocess

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.config import Config

CPU_BACKEND = 'gloo'


def _env_pytorch() -> None:
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise KeyError(f'launcher "pytorch" needs the environment variable {key} '
                           '(set by torchrun / tools/dist_train.sh)')
    os.environ.setdefault('LOCAL_RANK', '0')


def _env_slurm(port=None) -> None:
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    local_rank = int(os.environ.get('SLURM_LOCALID', proc_id))
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = str(local_rank)
    os.environ['RANK'] = str(proc_id)


def _env_mpi() -> None:
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('The environment variable MASTER_ADDR is not set')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']


def init_cpu_dist(launcher: str, timeout=None, port=None) -> None:
    """Initialise a ``gloo`` process group for ``launcher`` without touching CUDA.

    Does nothing when the default process group already exists.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        return
    if mp.get_start_method(allow_none=True) is None:
        mp.set_start_method('spawn')
    if launcher == 'pytorch':
        _env_pytorch()
    elif launcher == 'slurm':
        _env_slurm(port)
    elif launcher == 'mpi':
        _env_mpi()
    else:
        raise ValueError(f'Invalid launcher type: {launcher}')
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(backend=CPU_BACKEND, init_method='env://',
                                  rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Make ``cfg`` and the process group ready for distributed training on CPU.

    Call after loading the config and before building the Runner. Returns True
    when the CPU path was taken (a launcher other than ``'none'`` and no CUDA);
    otherwise leaves everything unchanged and returns False.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = CPU_BACKEND
    init_cpu_dist(launcher, timeout=dist_cfg.get('timeout'), port=dist_cfg.get('port'))

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        # a CUDA device list is never valid here; the Runner only fills
        # device_ids=[LOCAL_RANK] when the config does not set it
        wrapper['device_ids'] = None
    return True
