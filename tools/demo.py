# Copyright (c) mmacon contributors. All rights reserved.
"""CPU demo (``make demo``): tiny data sets, tiny ACON detectors / segmentors,
trained with tools/train.py and evaluated with mmdet's CocoMetric (bbox mAP)
and mmseg's IoUMetric (mIoU), then a ReLU / ACON-C / Meta-ACON table.

    python tools/demo.py                      # RetinaNet + PSPNet, 3 activations
    python tools/demo.py --variants metaacon  # only Meta-ACON
    python tools/demo.py --tasks det seg ade  # + PSPNet on tiny ADE20K

Every run is a ``tools/train.py`` subprocess on a config of ``configs/tiny``
(training from scratch, validation at the last iteration); runs go in
parallel, one per core, each with its own log under ``--work-dir``. Its
mmengine log lines (iterations, metrics) are echoed with the run's name.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from collections import deque

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

VARIANTS = dict(relu='ReLU', aconc='ACON-C', metaacon='Meta-ACON')
# task -> (title, config pattern, metric key in the scalars log, metric name, scale)
TASKS = dict(
    det=('RetinaNet / tiny COCO', 'retinanet_r18-{v}_fpn_tiny-coco.py', 'coco/bbox_mAP',
         'bbox mAP', 100.0),
    seg=('PSPNet / tiny Cityscapes', 'pspnet_r18-d8-{v}_tiny-cityscapes.py', 'mIoU', 'mIoU',
         1.0),
    ade=('PSPNet / tiny ADE20K', 'pspnet_r18-d8-{v}_tiny-ade20k.py', 'mIoU', 'mIoU', 1.0),
)
DATA = dict(det='tiny_coco', seg='tiny_cityscapes', ade='tiny_ade20k')
ECHO = ('Iter(train)', 'Iter(val)', 'bbox_mAP', 'mIoU', 'Saving checkpoint', 'ERROR')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmacon CPU demo')
    parser.add_argument('--tasks', nargs='+', choices=list(TASKS), default=['det', 'seg'])
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS),
                        default=list(VARIANTS))
    parser.add_argument('--data-dir', default=osp.join(REPO, 'data'),
                        help='where the tiny data sets are generated')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    parser.add_argument('--jobs', type=int, default=None,
                        help='parallel runs (default: number of cores, at most 6)')
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations of every run (default: the configs\')')
    parser.add_argument('--quiet', action='store_true', help='do not echo the logs')
    return parser.parse_args(argv)


def make_runs(args):
    runs = []
    for task in args.tasks:
        for v in args.variants:
            config = osp.join(REPO, 'configs', 'tiny', TASKS[task][1].format(v=v))
            if osp.isfile(config):  # not every variant exists for every task
                runs.append(dict(task=task, variant=v, name=f'{task}-{v}', config=config))
    return runs


def cfg_options(run, args):
    root = osp.join(osp.abspath(args.data_dir), DATA[run['task']])
    opts = [f'{loader}.dataset.data_root={root}/'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    if run['task'] == 'det':
        ann = f'{root}/annotations/instances_val2017.json'
        opts += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}']
    if args.iters:
        n = args.iters
        opts += [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
                 f'default_hooks.checkpoint.interval={n}']
        if run['task'] == 'det':
            opts += [f'param_scheduler.1.end={n}', f'param_scheduler.1.milestones=[{int(n * .8)}]',
                     f'param_scheduler.0.end={min(50, n // 4)}']
        else:
            opts += [f'param_scheduler.0.end={min(20, n // 4)}',
                     f'param_scheduler.1.begin={min(20, n // 4)}', f'param_scheduler.1.end={n}']
    return opts


def read_metric(work_dir, key):
    """Last value of ``key`` in the run's mmengine scalars log."""
    value = None
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(dirpath, 'scalars.json')) as f:
                for line in f:
                    record = json.loads(line)
                    if key in record:
                        value = record[key]
    return value


def launch(run, args, threads, lock):
    run['work_dir'] = osp.join(args.work_dir, run['name'])
    os.makedirs(run['work_dir'], exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONUNBUFFERED='1')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), run['config'],
           '--work-dir', run['work_dir'], '--cfg-options'] + cfg_options(run, args)
    run['log'] = osp.join(args.work_dir, run['name'] + '.log')
    run['start'] = time.time()
    log = open(run['log'], 'w')
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def pump():
        for line in proc.stdout:
            log.write(line)
            mm_line = ' - mmengine - ' in line and any(k in line for k in ECHO)
            if not args.quiet and (mm_line or line.startswith('Traceback')):
                with lock:
                    print(f'[{run["name"]}] {line.rstrip()[:220]}', flush=True)
        log.close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    run['proc'], run['thread'] = proc, thread
    with lock:
        print(f'>>> start {run["name"]}: {osp.relpath(run["config"], REPO)} '
              f'({threads} thread(s)), log {run["log"]}', flush=True)


def finish(run, lock):
    run['thread'].join()
    run['returncode'] = run['proc'].wait()
    run['seconds'] = time.time() - run['start']
    title, _, key, _, scale = TASKS[run['task']]
    value = read_metric(run['work_dir'], key)
    run['metric'] = None if value is None else value * scale
    with lock:
        status = 'ok' if run['returncode'] == 0 else f'FAILED ({run["returncode"]})'
        print(f'<<< done {run["name"]}: {status} in {run["seconds"]:.0f}s, '
              f'{TASKS[run["task"]][3]} = {run["metric"]}', flush=True)
        if run['returncode'] != 0:
            with open(run['log']) as f:
                print(''.join(deque(f, maxlen=30)), flush=True)


def table(runs, variants):
    by_key = {(r['task'], r['variant']): r for r in runs}
    header = ['model / data', 'metric'] + [VARIANTS[v] for v in variants]
    rows = []
    for task in dict.fromkeys(r['task'] for r in runs):
        cells = []
        for v in variants:
            r = by_key.get((task, v))
            if r is None:
                cells.append('-')
            elif r['metric'] is None:
                cells.append('failed' if r['returncode'] else 'n/a')
            else:
                cells.append(f'{r["metric"]:.1f} ({r["seconds"]:.0f}s)')
        rows.append([TASKS[task][0], TASKS[task][3]] + cells)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def fmt(row):
        return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(row, widths)) + ' |'
    lines = [fmt(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    return '\n'.join(lines + [fmt(r) for r in rows])


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    from mmacon.tiny_data import (make_tiny_ade20k, make_tiny_cityscapes,
                                  make_tiny_coco)
    makers = dict(det=make_tiny_coco, seg=make_tiny_cityscapes, ade=make_tiny_ade20k)
    for task in args.tasks:
        root = osp.join(args.data_dir, DATA[task])
        makers[task](root)
        print(f'generated {root}', flush=True)

    runs = make_runs(args)
    cores = os.cpu_count() or 1
    jobs = max(1, min(args.jobs or min(cores, 6), len(runs)))
    threads = max(1, cores // jobs)
    os.makedirs(args.work_dir, exist_ok=True)
    print(f'{len(runs)} runs, {jobs} at a time, {threads} thread(s) each', flush=True)

    # the slower segmentation runs and ACON variants first
    order = {'seg': 0, 'ade': 1, 'det': 2}
    vorder = {'metaacon': 0, 'aconc': 1, 'relu': 2}
    pending = deque(sorted(runs, key=lambda r: (order[r['task']], vorder[r['variant']])))
    active, lock = [], threading.Lock()
    while pending or active:
        while pending and len(active) < jobs:
            run = pending.popleft()
            launch(run, args, threads, lock)
            active.append(run)
        time.sleep(0.5)
        for run in [r for r in active if r['proc'].poll() is not None]:
            finish(run, lock)
            active.remove(run)

    wall = time.time() - start
    print('\nmmacon tiny demo (from scratch on CPU; metric after training, '
          '(training + validation seconds)):')
    print(table(runs, args.variants))
    print(f'total wall time: {wall:.0f}s')
    summary = dict(wall_seconds=wall, runs=[
        {k: r.get(k) for k in ('name', 'config', 'work_dir', 'metric', 'seconds', 'returncode')}
        for r in runs])
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    failed = [r['name'] for r in runs if r['returncode'] != 0 or r['metric'] is None]
    if failed:
        print(f'failed runs: {failed}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
