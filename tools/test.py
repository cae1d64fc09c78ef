# Copyright (c) mmacon contributors. All rights reserved.
"""Test (and evaluate) a detector (mmdet) or segmentor (mmseg) checkpoint.

The package is chosen from the config's ``default_scope``::

    python tools/test.py ${CONFIG} ${CHECKPOINT} [--work-dir DIR] [--out OUT]
        [--show-dir DIR]

``--out``: mmdet dumps the predictions to a ``.pkl`` file; mmseg writes the
predicted label maps as ``.png`` files into the directory ``OUT``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

import mmacon  # noqa: F401  (registers the modules)
from mmacon.utils import (CheckpointError, check_checkpoint, check_data_paths,
                          register_safe_globals, register_scope,
                          setup_cpu_distributed)
from mmacon.utils.device_aware_runner import DeviceAwareRunner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument(
        '--out', type=str,
        help='mmdet: dump predictions to a pickle file; mmseg: directory for '
        'the predicted label maps')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory for the painted predictions of every test image. mmdet: a '
        'relative SHOW_DIR is placed under WORK_DIR/TIMESTAMP/ (DetVisualizationHook); '
        'mmseg: the images go to SHOW_DIR/vis_data/vis_image/ (the visualizer\'s '
        'save_dir), one per image (the hook\'s interval is set to 1)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
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


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks. Refer to usage '
            '"visualization=dict(type=\'VisualizationHook\')"')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        if cfg.default_scope == 'mmdet':
            hook['test_out_dir'] = args.show_dir  # mmdet's DetVisualizationHook
        else:  # mmseg's SegVisualizationHook draws through the visualizer's backends
            cfg.visualizer['save_dir'] = args.show_dir
            hook['interval'] = 1  # every test batch, as mmdet's hook (mmseg's default: 50)
    return cfg


def build_cfg(args) -> Config:
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {osp.abspath(args.config)}')
    check_checkpoint(args.checkpoint)  # missing, empty, not PyTorch or pickled code
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

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    check_data_paths(cfg, 'test')
    return cfg


def main(argv=None):
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
    scope = register_scope(cfg)

    if args.out is not None and scope == 'mmseg':
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    if args.out is not None and scope == 'mmdet' and \
            not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file for mmdet, got {args.out}')

    setup_cpu_distributed(cfg, args.launcher)
    if 'runner_type' not in cfg:
        runner = DeviceAwareRunner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    if args.out is not None and scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))

    return runner.test()


if __name__ == '__main__':
    result = main()
    sys.exit(result if isinstance(result, int) else 0)
