"""Shared paths and subprocess helpers of the tool tests, imported as
``from tests.test_tools.tool_helpers import ...``."""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
SEG_CONFIG = osp.join(REPO, 'configs', 'tiny', 'pspnet_r18-d8-metaacon_tiny-cityscapes.py')
DET_CONFIG = osp.join(REPO, 'configs', 'tiny', 'retinanet_r18-metaacon_fpn_tiny-coco.py')


def load_tool(rel: str):
    """Import the standalone script ``REPO/rel`` (e.g. 'tools/train.py') as a module."""
    name = 'mmacon_tool_' + osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_env(**extra):
    env = dict(os.environ)
    # one thread per process: the suite runs two workers on two cores, and
    # OpenMP spinning across oversubscribed threads is many times slower
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    # the checkout first, so the tools import this mmacon and tests.* resolve
    env['PYTHONPATH'] = os.pathsep.join([REPO, env.get('PYTHONPATH', '')])
    env.update(extra)
    return env


def run(cmd, cwd=None, timeout=300, check=True, **env):
    proc = subprocess.run(cmd, cwd=cwd or REPO, env=tool_env(**env), capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def seg_options(root, iters, batch=2, ckpt_interval=None, val=True):
    """--cfg-options for the tiny Cityscapes PSPNet: data under ``root``, ``iters`` iterations."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_dataloader.batch_size={batch}',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters if val else iters + 1000}',
        f'default_hooks.checkpoint.interval={ckpt_interval or iters}',
        'default_hooks.logger.interval=1',
        'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
        f'param_scheduler.1.end={iters}',
    ]


def det_options(root, iters, batch=2):
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={root}/annotations/instances_val2017.json',
        f'test_evaluator.ann_file={root}/annotations/instances_val2017.json',
        f'train_dataloader.batch_size={batch}',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=1',
        # an untrained detector scores ~0.01: keep its boxes so mAP is computed
        'model.test_cfg.score_thr=0.0',
        'param_scheduler.0.end=1',
    ]


def python():
    return sys.executable
