# Copyright (c) mmacon contributors. All rights reserved.
"""Train a detector (mmdet) or segmentor (mmseg) with ACON backbones.

The package is chosen from the config's ``default_scope``. Single process::

    python tools/train.py ${CONFIG} [--work-dir DIR] [--resume [CKPT]] [--amp]

Distributed: ``tools/dist_train.sh ${CONFIG} ${GPUS}`` (torchrun) or
``tools/slurm_train.sh``; without CUDA the processes use ``gloo`` on CPU.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

import mmacon  # noqa: F401  (registers the modules)
from mmacon.engine import add_decay_check
from mmacon.utils import (CheckpointError, check_amp, check_checkpoint, check_data_paths,
                          check_pretrained, check_resume, register_safe_globals,
                          register_scope, setup_cpu_distributed)
from mmacon.utils.device_aware_runner import DeviceAwareRunner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true', default=False,
        help='enable automatic-mixed-precision training (needs a CUDA GPU: refused up '
        'front on CPU)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {osp.abspath(args.config)}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print('AMP training is already enabled in your config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and 'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise RuntimeError('Can not find "auto_scale_lr" or '
                               '"auto_scale_lr.base_batch_size" in your '
                               'configuration file.')

    # resume is determined in this priority: resume from > auto_resume
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    # every local checkpoint the run will read, checked now (no pickle is run)
    if cfg.get('resume'):
        check_resume(cfg)
    else:
        check_checkpoint(cfg.get('load_from'), 'load_from checkpoint')
    check_pretrained(cfg)
    check_amp(cfg)
    check_data_paths(cfg, 'train')
    add_decay_check(cfg)  # warns, with the count, if the optimizer decays ACON params
    return cfg


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = build_cfg(args)
    except (FileNotFoundError, CheckpointError, RuntimeError) as err:
        # one line naming the file or key; no traceback for a bad command line
        print(f'error: {err}', file=sys.stderr)
        return 1
    # mmengine's Runner loads load_from / --resume / init_cfg checkpoints, whose message
    # hub needs mmacon's allow-listed types under torch.load(weights_only=True)
    register_safe_globals()
    register_scope(cfg)
    # no CUDA + a launcher: gloo process group and a CPU DDP wrapper
    setup_cpu_distributed(cfg, args.launcher)

    if 'runner_type' not in cfg:
        runner = DeviceAwareRunner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
