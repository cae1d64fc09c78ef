"""End to end with tools/train.py: two stages, same seed same metric, skip, resume, 0 mAP.

Tiny PSPNet (2 iterations, 2 crops) as stage 1 and a tiny RetinaNet that
predicts nothing (score_thr 1.1) as stage 2; seven short training processes.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
import torch

from mmacon.sweep import build_runs, run_sweep
from mmacon.sweep.scheduler import RECORD, SweepScheduler, _reap
from mmacon.sweep.scalars import log_dirs, loss_curve, read_scalars
from tests.test_tools.tool_helpers import (DET_CONFIG, REPO, TOOLS, det_options, python, run,
                                           seg_options)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]
SEG = osp.join(REPO, 'configs', 'tiny', 'pspnet_r18-d8-relu_tiny-cityscapes.py')
DET = DET_CONFIG.replace('metaacon', 'relu')


def as_dict(options):
    return dict(o.split('=', 1) for o in options)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from mmacon.tiny_data import make_tiny_cityscapes, make_tiny_coco
    root = tmp_path_factory.mktemp('bench_data')
    make_tiny_cityscapes(str(root / 'cs'), num_train=4, num_val=2)
    make_tiny_coco(str(root / 'coco'), num_train=4, num_val=2)
    return str(root / 'cs'), str(root / 'coco')


def seg_runs(cs, seeds, **kw):
    return build_runs([SEG], seeds, cfg_options=as_dict(seg_options(cs, iters=2)), **kw)


@pytest.fixture(scope='module')
def two_stage(data, tmp_path_factory, monkeypatch_module):
    cs, coco = data
    det = dict(config=DET, cfg_options={**as_dict(det_options(coco, iters=2)),
                                        'model.test_cfg.score_thr': 1.1})
    runs = build_runs([det], [0, 1], pretrain=[dict(config=SEG, cfg_options=as_dict(
        seg_options(cs, iters=2)))])
    work_dir = str(tmp_path_factory.mktemp('bench_a'))
    lines = []
    records = run_sweep(runs, work_dir, jobs=2, print_fn=lines.append, title='T')
    return runs, records, work_dir, lines


@pytest.fixture(scope='module')
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv('OMP_NUM_THREADS', '1')
    yield mp
    mp.undo()


def test_records_name_stage_seed_and_link_checkpoints(two_stage):
    runs, records, work_dir, _ = two_stage
    assert [(r['stage'], r['seed'], r['status']) for r in records] == [
        ('pretrain', 0, 'ok'), ('pretrain', 1, 'ok'), ('finetune', 0, 'ok'), ('finetune', 1, 'ok')]
    pre = {r['seed']: r for r in records[:2]}
    for r in records[2:]:
        assert r['pretrain_checkpoint'] == pre[r['seed']]['checkpoint']
        assert r['checkpoint'] == osp.join(r['work_dir'], 'iter_2.pth')
        log = open(osp.join(r['work_dir'], 'train.log')).read()
        # stage 2 initialised its backbone from stage 1's checkpoint of the same seed
        assert f'Loads checkpoint by local backend from path: {r["pretrain_checkpoint"]}' in log
        assert f'randomness.seed={r["seed"]}' in log
        # the tiny PSPNet and RetinaNet backbones have the same tensors
        assert 'did not fit' not in r['note']
    for r in records[:2]:
        assert r['metric'] == 'mIoU' and 0 <= r['value'] <= 100
        assert r['iterations'] == 2 and r['wall_s'] > 0 and r['cpu_s'] > 0
        assert osp.isfile(osp.join(r['work_dir'], RECORD))
    for r in records:
        # where it ran, as the run's own log says: one process of one thread (jobs=2, 2 cores
        # or OMP_NUM_THREADS=1)
        assert r['setup'] == dict(torch=torch.__version__, device='cpu', threads=1,
                                  processes=1,
                                  cpu_capability=torch.backends.cpu.get_cpu_capability())
        assert r['end_time'] - r['start_time'] == pytest.approx(r['wall_s'], abs=0.2)


def test_detector_without_detections_is_zero_map(two_stage):
    for r in two_stage[1][2:]:
        assert (r['metric'], r['value'], r['metrics']) == ('coco/bbox_mAP', 0.0, {})
        assert 'no detections' in r['note']


def test_results_files(two_stage):
    _, records, work_dir, _ = two_stage
    data = json.load(open(osp.join(work_dir, 'results.json')))
    assert [r['name'] for r in data['records']] == [r['name'] for r in records]
    # the sweep's times: stage 2 waits for stage 1, two runs at a time (times kept to 0.1 s)
    starts, ends = [r['start_time'] for r in records], [r['end_time'] for r in records]
    assert 0 < data['wall_s'] <= max(ends) - min(starts) + 0.05
    assert data['wall_s'] < sum(r['wall_s'] for r in records)
    assert data['wall_s'] <= data['call_wall_s'] + 0.25
    assert data['cpu_s'] == pytest.approx(sum(r['cpu_s'] for r in records), abs=0.3)
    assert [s['runs'] for s in data['setups']] == [[r['name'] for r in records]]
    assert data['warnings'] == []
    assert {'config', 'task', 'activation', 'stage', 'seed', 'metrics', 'wall_s',
            'checkpoint'} <= set(data['records'][0])
    md = open(osp.join(work_dir, 'results.md')).read()
    m0, m1 = (r['value'] for r in records[:2])
    mean, std = (m0 + m1) / 2, abs(m0 - m1) / 2 ** 0.5
    assert f'| pretrain | pspnet_r18-d8-*_tiny-cityscapes | mIoU | ReLU | 2 | ' \
        f'{mean:.2f} ± {std:.2f} |' in md
    assert '| finetune | retinanet_r18-*_fpn_tiny-coco | coco/bbox_mAP | ReLU | 2 | ' \
        '0.00 ± 0.00 |' in md
    assert open(osp.join(work_dir, 'results.png'), 'rb').read(4) == b'\x89PNG'


def test_same_seed_same_result_other_seed_other_result(two_stage, data, tmp_path):
    _, records, _, _ = two_stage
    again = run_sweep(seg_runs(data[0], [0], pretrain=None)[:1], str(tmp_path),
                      plot=False, print_fn=lambda s: None)[0]
    first = records[0]
    assert again['metrics'] == first['metrics']
    curve = loss_curve(read_scalars(again['work_dir'])[0])
    assert curve == loss_curve(read_scalars(first['work_dir'])[0])
    assert curve != loss_curve(read_scalars(records[1]['work_dir'])[0])  # seed 1


def test_finished_runs_are_skipped(two_stage):
    runs, records, work_dir, _ = two_stage
    folders = {r['name']: log_dirs(r['work_dir']) for r in records}
    first = json.load(open(osp.join(work_dir, 'results.json')))
    lines = []
    again = run_sweep(runs, work_dir, print_fn=lines.append, plot=False)
    assert again == records
    # a second call that skips every run keeps the sweep's times (it was 0.0 s)
    second = json.load(open(osp.join(work_dir, 'results.json')))
    assert (second['wall_s'], second['cpu_s']) == (first['wall_s'], first['cpu_s'])
    assert second['call_wall_s'] < first['call_wall_s']
    assert sum(line.startswith('[benchmark] skip') for line in lines) == 4
    assert not any('start' in line for line in lines)
    assert {r['name']: log_dirs(r['work_dir']) for r in records} == folders


def test_finished_run_with_other_settings_is_an_error(two_stage):
    runs, _, work_dir, _ = two_stage
    runs = [r for r in runs if r.stage == 'pretrain']
    runs[0].cfg_options = dict(runs[0].cfg_options, **{'train_cfg.max_iters': 3})
    with pytest.raises(RuntimeError, match=r'seed0 finished before with other settings.*'
                       r'use another --work-dir or remove'):
        SweepScheduler(runs, work_dir, print_fn=lambda s: None).run()


def test_interrupted_run_is_resumed(data, tmp_path):
    cs = data[0]
    runs = seg_runs(cs, [0])
    run_dir = runs[0].work_dir(str(tmp_path))
    # the run stopped after its checkpoint at iteration 1 of 2
    run([python(), osp.join(TOOLS, 'train.py'), SEG, '--work-dir', run_dir, '--cfg-options']
        + seg_options(cs, iters=2, ckpt_interval=1, val=False)
        + ['train_cfg.max_iters=1', 'randomness.seed=0'])
    assert osp.isfile(osp.join(run_dir, 'iter_1.pth'))
    record = SweepScheduler(runs, str(tmp_path), print_fn=lambda s: None).run()[0]
    assert record['status'] == 'ok' and record['resumed_from'] == osp.join(run_dir, 'iter_1.pth')
    log = open(osp.join(run_dir, 'train.log')).read()
    assert '--resume' in log and 'resumed epoch: 0, iter: 1' in log
    assert 'Iter(train) [2/2]' in log and 'Iter(train) [1/2]' not in log
    assert len(log_dirs(run_dir)) == 2 and record['iterations'] == 2
    assert loss_curve(read_scalars(run_dir)[0])[0] == [1, 2]
    ckpt = torch.load(record['checkpoint'], map_location='cpu', weights_only=False)
    assert ckpt['meta']['iter'] == 2 and record['metric'] == 'mIoU'


def test_record_notes_from_the_logs(tmp_path):
    """make_record on logs mmengine wrote (no training): 0 mAP, a checkpoint that did not fit,
    a run that never validated."""
    from tests.test_sweep.test_scalars import write_attempt
    from mmacon.sweep.scalars import EMPTY_COCO, NOT_EXACT
    runs = build_runs([DET], [0], pretrain=[SEG])
    runner = SweepScheduler(runs, str(tmp_path), print_fn=lambda s: None)
    pre, det = runs
    os.makedirs(pre.work_dir(str(tmp_path)))
    with open(osp.join(pre.work_dir(str(tmp_path)), RECORD), 'w') as f:
        json.dump(dict(checkpoint='/ckpt/iter_2.pth'), f)
    write_attempt(det.work_dir(str(tmp_path)), '20260101_000000',
                  [(1, dict(loss=2.0, iter=1)), (1, dict(data_time=0.1, time=0.2))],
                  f'WARNING - {NOT_EXACT}\nERROR - {EMPTY_COCO}.\n')
    record = runner.make_record(det, 0, 1.0, None)
    assert (record['metric'], record['value'], record['iterations']) == ('coco/bbox_mAP', 0.0, 1)
    assert record['note'].startswith('no detections') and 'did not fit' in record['note']
    assert record['pretrain_checkpoint'] == '/ckpt/iter_2.pth'
    assert 'model.backbone.init_cfg.checkpoint=/ckpt/iter_2.pth' in record['cfg_options']
    assert 'randomness.seed=0' in record['cfg_options']
    # a failed run is not 0 mAP, and a run that logged no metric says so
    assert runner.make_record(det, 1, 1.0, None)['value'] is None
    write_attempt(pre.work_dir(str(tmp_path)), '20260101_000000', [(1, dict(loss=2.0, iter=1))])
    record = runner.make_record(pre, 0, 1.0, None)
    assert record['value'] is None and 'val_interval' in record['note']


def test_parallel_runs_get_ports_of_their_own(tmp_path):
    runs = build_runs([SEG, DET], [0, 1, 2])
    for launcher, key in (('pytorch', 'PORT'), ('slurm', 'MASTER_PORT')):
        sched = SweepScheduler(runs, str(tmp_path), launcher=launcher, jobs=6,
                               partition='p', print_fn=lambda s: None)
        # the started runs' indices, any 6 consecutive ones are active together at most
        for first in (1, 495, 498):
            ports = {sched.env(None, sched.port(i))[key] for i in range(first, first + 6)}
            assert len(ports) == 6


def test_cpu_time_of_a_slurm_run_is_unknown(tmp_path):
    """wait4 sees the CPU time of torchrun's workers (its children), not of srun's tasks,
    which the Slurm daemon starts: a Slurm run records None, not 0."""
    burn = [sys.executable, '-c', 'sum(i * i for i in range(3_000_000))']
    for cpu_known in (True, False):
        job = dict(proc=subprocess.Popen(burn), cpu_known=cpu_known)
        while not _reap(job):
            time.sleep(0.05)
        assert job['proc'].returncode == 0
        assert (job['cpu_s'] > 0.05) if cpu_known else ('cpu_s' not in job)


def test_record_names_the_setup_and_attempts_on_different_ones(tmp_path):
    from tests.test_sweep.test_scalars import write_attempt
    (run_, ) = build_runs([SEG], [0])
    runner = SweepScheduler([run_], str(tmp_path), print_fn=lambda s: None)
    one = dict(torch='2.13.0', device='cpu', cpu_capability='AVX512', threads=1, processes=1)
    wd = run_.work_dir(str(tmp_path))
    write_attempt(wd, '20260101_000000', [(1, dict(loss=2.0, iter=1))],
                  'INFO - Run setup: ' + json.dumps(one) + '\n')
    record = runner.make_record(run_, 0, 1.0, None)
    assert record['setup'] == one and 'setups' not in (record['note'] or '')
    # resumed on a machine with AVX2
    write_attempt(wd, '20260101_000500', [(2, dict(loss=1.0, iter=2))],
                  'INFO - Run setup: ' + json.dumps(dict(one, cpu_capability='AVX2')) + '\n')
    record = runner.make_record(run_, 0, 1.0, None)
    assert record['setup']['cpu_capability'] == 'AVX2'
    assert record['note'].endswith(
        'its attempts ran on different setups: torch 2.13.0, CPU AVX512, 1 thread, 1 process / '
        'torch 2.13.0, CPU AVX2, 1 thread, 1 process')
