# Copyright (c) mmacon contributors. All rights reserved.
"""``make demo``: the transfer-learning pipeline in miniature, on CPU.

1. pretraining: AconResNet-18 (width 32) with ReLU, ACON-C and Meta-ACON on a
   tiny ImageNet-format set (mmpretrain, ``configs/tiny/resnet18-w32-*_tiny-imagenet.py``);
2. fine-tuning: RetinaNet on tiny COCO and PSPNet on tiny Cityscapes
   (``configs/tiny/``), each starting from the pretrained backbone of its
   activation and seed,

over seeds 0 and 1, through ``tools/benchmark.py``'s scheduler (two runs at a
time on two cores, one thread each). Writes ``work_dirs/demo/results.json``
(one record per run, with its ``stage`` and ``seed``), ``results.md`` (mean ±
std per task and activation, ACON minus ReLU) and ``results.png``. A second
call skips the finished runs; an interrupted one resumes.

    python tools/demo.py                              # the pipeline, about 9 minutes
    python tools/demo.py --seeds 0 1 2 --iters 300    # longer
    python tools/demo.py --no-pretrain                # downstream from scratch
    python tools/demo.py --tasks seg --variants relu metaacon --seeds 0

The sets are generated under ``--data-dir`` (seeded, identical on every
machine). Tiny data shows that the pipeline works end to end and is
reproducible; it cannot show that ACON helps (see README, "Two commands").
"""
import argparse
import os
import os.path as osp
import sys
import time

from mmacon.sweep import build_runs, run_sweep

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = osp.join(REPO, 'configs', 'tiny')
VARIANTS = ('relu', 'aconc', 'metaacon')
PRETRAIN = 'resnet18-w32-{v}_tiny-imagenet.py'
# task -> (config pattern, tiny set, metric)
TASKS = dict(
    det=('retinanet_r18-{v}_fpn_tiny-coco.py', 'tiny_coco', 'coco/bbox_mAP'),
    seg=('pspnet_r18-d8-{v}_tiny-cityscapes.py', 'tiny_cityscapes', 'mIoU'),
    ade=('pspnet_r18-d8-{v}_tiny-ade20k.py', 'tiny_ade20k', 'mIoU'),
)
TASK_NAMES = dict(det='RetinaNet / tiny COCO', seg='PSPNet / tiny Cityscapes',
                  ade='PSPNet / tiny ADE20K', cls='ResNet-18 / tiny ImageNet')
# measured on 2 cores (README): pretraining, then fine-tuning
DEFAULT_PRETRAIN_ITERS = 300
DEFAULT_ITERS = dict(det=150, seg=100, ade=100)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmacon transfer-learning demo (CPU)')
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=['det', 'seg'])
    parser.add_argument('--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--pretrain-iters', type=int, default=DEFAULT_PRETRAIN_ITERS,
                        help='tiny ImageNet iterations (batch 16)')
    parser.add_argument('--iters', type=int, default=None,
                        help='fine-tuning iterations of every task (default: det '
                        f'{DEFAULT_ITERS["det"]}, seg {DEFAULT_ITERS["seg"]})')
    parser.add_argument('--no-pretrain', action='store_true',
                        help='train the downstream models from scratch')
    parser.add_argument('--jobs', type=int, default=None,
                        help='runs at a time (default: the number of cores)')
    parser.add_argument('--data-dir', default=osp.join(REPO, 'data'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    parser.add_argument('--quiet', action='store_true', help='do not echo the training logs')
    return parser.parse_args(argv)


def data_options(root: str, ann_file: bool = False) -> dict:
    opts = {f'{loader}.dataset.data_root': root + '/'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    if ann_file:  # mmdet's CocoMetric reads the annotations itself
        for evaluator in ('val_evaluator', 'test_evaluator'):
            opts[f'{evaluator}.ann_file'] = f'{root}/annotations/instances_val2017.json'
    return opts


def make_data(args) -> dict:
    """Generate the tiny sets the demo needs; {name: root}."""
    from mmacon import tiny_data
    makers = dict(tiny_imagenet=tiny_data.make_tiny_imagenet, tiny_coco=tiny_data.make_tiny_coco,
                  tiny_cityscapes=tiny_data.make_tiny_cityscapes,
                  tiny_ade20k=tiny_data.make_tiny_ade20k)
    names = [TASKS[t][1] for t in args.tasks] + ([] if args.no_pretrain else ['tiny_imagenet'])
    roots = {}
    for name in names:
        roots[name] = osp.abspath(osp.join(args.data_dir, name))
        makers[name](roots[name])
    return roots


def demo_runs(args, roots: dict):
    """The demo's matrix (mmacon.sweep.build_runs)."""
    log = {'default_hooks.logger.interval': 10}
    pretrain = []
    if not args.no_pretrain:
        n = args.pretrain_iters
        for v in args.variants:
            pretrain.append(dict(
                config=osp.join(TINY, PRETRAIN.format(v=v)), task=TASK_NAMES['cls'],
                metric='accuracy/top1',
                # max_iters alone sets the run: the LR decay, checkpoint and
                # validation follow it (configs/tiny)
                cfg_options={**data_options(roots['tiny_imagenet']), **log,
                             'train_cfg.max_iters': n}))
    configs = []
    for task in args.tasks:
        pattern, data, metric = TASKS[task]
        n = args.iters or DEFAULT_ITERS[task]
        for v in args.variants:
            configs.append(dict(
                config=osp.join(TINY, pattern.format(v=v)), task=TASK_NAMES[task], metric=metric,
                cfg_options={**data_options(roots[data], ann_file=task == 'det'), **log,
                             'train_cfg.max_iters': n}))
    return build_runs(configs, args.seeds, pretrain=pretrain)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    roots = make_data(args)
    runs = demo_runs(args, roots)
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(runs)))
    print(f'[demo] {len(runs)} runs ({len(args.variants)} activations x {len(args.seeds)} '
          f'seeds, {"from scratch" if args.no_pretrain else "pretraining, then fine-tuning"}), '
          f'{jobs} at a time, in {args.work_dir}', flush=True)
    records = run_sweep(runs, args.work_dir, jobs=jobs, echo=not args.quiet,
                        title='mmacon demo: tiny pretraining, then fine-tuning (CPU)')
    with open(osp.join(args.work_dir, 'results.md')) as f:
        print('\n' + f.read())
    print(f'[demo] total wall time {time.time() - start:.0f} s; results in '
          f'{args.work_dir}/results.{{json,md,png}}', flush=True)
    failed = [r['name'] for r in records if r['status'] != 'ok']
    if failed:
        print(f'[demo] runs that did not finish: {failed}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
