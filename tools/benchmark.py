# Copyright (c) mmacon contributors. All rights reserved.
"""Benchmark configs x seeds, optionally in two stages (pretraining, then the
downstream configs fine-tuned from its checkpoints), and tabulate the results.

    # one stage: the ReLU / ACON twins of a config, three seeds, on this machine
    python tools/benchmark.py configs/tiny/retinanet_r18-{relu,aconc,metaacon}_fpn_tiny-coco.py \\
        --seeds 0 1 2 --work-dir work_dirs/bench --jobs 2
    # two stages: each downstream config starts from the pretraining run of its activation
    python tools/benchmark.py DOWNSTREAM.py ... --pretrain PRETRAIN.py ... --seeds 0 1
    # a spec file (matrix, per-config options; format in mmacon/sweep/spec.py)
    python tools/benchmark.py --spec my_benchmark.py --launcher slurm --partition gpu --gpus 8
    # a CPU-only Slurm cluster: 2 tasks of 4 CPUs per run, no --gres, 2 runs at a time
    python tools/benchmark.py CONFIG ... --launcher slurm --partition cpu --gpus 2 \\
        --gpus-per-node 0 --cpus-per-task 4 --jobs 2

Every run is ``tools/train.py`` (``--launcher none``), ``tools/dist_train.sh``
(``pytorch``, ``--gpus`` processes) or ``tools/slurm_train.sh`` (``slurm``) in
its own work dir ``<work-dir>/<stage>/<config name>/seed<S>``, with
``--cfg-options randomness.seed=S`` and, in stage 2,
``model.backbone.init_cfg=Pretrained(<stage-1 checkpoint>, prefix='backbone.')``.
A run that finished before (``benchmark_run.json`` in its work dir) is skipped;
one that was interrupted after a checkpoint continues with ``--resume``. Runs
at a time get ports of their own (``PORT`` / ``MASTER_PORT``). Metrics are read
from mmengine's logs (``<run>/<timestamp>/vis_data/scalars.json``): the last
validation's, judged by ``coco/bbox_mAP``, ``mIoU`` or ``accuracy/top1`` unless
the spec names a metric. A detector that predicted no box at all (mmdet logs no
mAP) is recorded as 0 mAP. Written to ``--work-dir``: ``results.json`` (one
record per run: config, task, activation, stage, seed, metrics, wall and CPU
time (null: unknown, as for Slurm runs), checkpoint, setup: torch version,
device or CPU capability, threads, processes), ``results.md`` (mean ± std per
task and activation, each ACON variant minus its ReLU baseline, the setups; a
warning where a mean merges runs of different setups) and ``results.png``.
Exit status 1 when a run failed.
"""
import argparse
import os
import sys

from mmacon.sweep import build_runs, load_spec, run_sweep
from mmacon.sweep.launch import LAUNCHERS, launcher_env
from mmacon.sweep.scheduler import BASE_PORT, SweepScheduler


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark configs x seeds')
    parser.add_argument('configs', nargs='*', help='configs to benchmark (stage 2 when '
                        '--pretrain is given)')
    parser.add_argument('--spec', help='a benchmark spec file (see mmacon/sweep/spec.py)')
    parser.add_argument('--pretrain', nargs='+', default=None,
                        help='stage-1 configs; each config starts from the one of its '
                        'activation')
    parser.add_argument('--seeds', nargs='+', type=int, default=None,
                        help='seeds of every config (default: the spec\'s, else 0)')
    parser.add_argument('--work-dir', default='work_dirs/benchmark')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs at a time; each gets its own port (PORT of dist_train.sh, '
                        f'MASTER_PORT of slurm_train.sh: {BASE_PORT} + its start index)')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes per run (pytorch: torchrun processes; slurm: tasks, '
                        'GPUS of slurm_train.sh)')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--gpus-per-node', type=int, default=None, metavar='N',
                        help='slurm: GPUs and tasks per node (GPUS_PER_NODE); 0: a CPU-only '
                        'job, asked without --gres (for clusters without a "gpu" gres). '
                        'Default: $GPUS_PER_NODE, else min(--gpus, 8)')
    parser.add_argument('--cpus-per-task', type=int, default=None, metavar='N',
                        help='slurm: CPUs per task (CPUS_PER_TASK). Default: $CPUS_PER_TASK, '
                        'else 5. slurm_train.sh refuses a job that fits on no node of the '
                        'partition (N x tasks per node CPUs), which Slurm would keep pending')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='options for every run, as tools/train.py --cfg-options')
    parser.add_argument('--title', default='Benchmark results')
    parser.add_argument('--quiet', action='store_true', help='do not echo the runs\' logs')
    parser.add_argument('--no-plot', action='store_true', help='no results.png')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the command of every run and exit')
    return parser.parse_args(argv)


def cli_options(items):
    options = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or not key:
            raise SystemExit(f'--cfg-options {item!r}: expected KEY=VALUE')
        options[key] = value
    return options


def main(argv=None):
    args = parse_args(argv)
    spec = load_spec(args.spec) if args.spec else dict(seeds=[0])
    base_dir = os.path.dirname(os.path.abspath(args.spec)) if args.spec else '.'
    if args.configs:
        spec['configs'] = list(spec.get('configs') or []) + args.configs
    if args.pretrain:
        spec['pretrain'] = list(spec.get('pretrain') or []) + args.pretrain
    if args.seeds:
        spec['seeds'] = args.seeds
    if not spec.get('configs'):
        raise SystemExit('nothing to benchmark: give configs or --spec FILE')
    spec['cfg_options'] = {**(spec.get('cfg_options') or {}), **cli_options(args.cfg_options)}
    pretrained_options = spec.pop('pretrained_options', None)
    runs = build_runs(base_dir=base_dir, **spec)
    for name in ('gpus_per_node', 'cpus_per_task'):
        value = getattr(args, name)
        if value is not None and (value < 0 or name == 'cpus_per_task' and value == 0):
            raise SystemExit(f'--{name.replace("_", "-")} {value}: expected a number '
                             f'>= {int(name == "cpus_per_task")}')
    kwargs = dict(launcher=args.launcher, jobs=args.jobs, gpus=args.gpus,
                  partition=args.partition, pretrained_options=pretrained_options,
                  echo=not args.quiet, gpus_per_node=args.gpus_per_node,
                  cpus_per_task=args.cpus_per_task)
    if args.dry_run:
        scheduler = SweepScheduler(runs, args.work_dir, **kwargs)
        for i, (run, cmd) in enumerate(zip(runs, scheduler.commands()), 1):
            env = launcher_env(scheduler.env(None, scheduler.port(i)), args.launcher)
            print(f'# {run.name}\n' + ' '.join([f'{k}={v}' for k, v in env.items()] + cmd))
        return 0
    print(f'[benchmark] {len(runs)} runs, {args.jobs} at a time, in {args.work_dir}', flush=True)
    records = run_sweep(runs, args.work_dir, title=args.title, plot=not args.no_plot,
                        **kwargs)
    with open(os.path.join(args.work_dir, 'results.md')) as f:
        print(f.read())
    failed = [r['name'] for r in records if r['status'] != 'ok']
    if failed:
        print(f'[benchmark] not finished: {failed}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
