"""End to end: tools/train.py -> checkpoint -> tools/test.py metric -> --resume continues.

Tiny Meta-ACON PSPNet on a tiny Cityscapes set (128 px crops, 2 images per
batch, 2 + 2 iterations). All heavy tests share one xdist group so they run
one after another on one worker.
"""
import glob
import json
import os.path as osp
import re
import shutil

import pytest
import torch

from tests.test_tools.tool_helpers import SEG_CONFIG, TOOLS, python, run, seg_options

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]


@pytest.fixture(scope='module')
def trained(tiny_cityscapes, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('work') / 'seg')
    proc = run([python(), osp.join(TOOLS, 'train.py'), SEG_CONFIG, '--work-dir', work_dir,
                '--cfg-options'] + seg_options(tiny_cityscapes, iters=2))
    return work_dir, proc.stdout + proc.stderr


def test_train_writes_checkpoint_and_validates(trained):
    work_dir, log = trained
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_2.pth')
    assert 'Iter(train) [2/2]' in log
    assert re.search(r'Iter\(val\) \[\d+/\d+\].*mIoU: [\d.]+', log)
    # the Meta-ACON backbone was trained (parameters present in the checkpoint)
    ckpt = torch.load(osp.join(work_dir, 'iter_2.pth'), map_location='cpu')
    assert any(k.endswith('acon.fc1.weight') or '.acon1.fc1.' in k for k in ckpt['state_dict'])
    assert ckpt['meta']['iter'] == 2


def test_test_tool_reports_metric(trained, tiny_cityscapes, tmp_path):
    work_dir, _ = trained
    out_dir = str(tmp_path / 'pred')
    proc = run([python(), osp.join(TOOLS, 'test.py'), SEG_CONFIG,
                osp.join(work_dir, 'iter_2.pth'), '--work-dir', str(tmp_path / 'test'),
                '--out', out_dir, '--show-dir', str(tmp_path / 'show'), '--cfg-options',
                f'test_dataloader.dataset.data_root={tiny_cityscapes}',
                # mmseg's SegVisualizationHook reads runner.iter, which builds the train loop
                f'train_dataloader.dataset.data_root={tiny_cityscapes}'])
    log = proc.stdout + proc.stderr
    match = re.search(r'Iter\(test\) \[\d+/\d+\].*mIoU: ([\d.]+)', log)
    assert match, log[-3000:]
    miou = float(match.group(1))
    assert 0.0 <= miou <= 100.0
    # the metric is also in the json the logger writes
    results = glob.glob(str(tmp_path / 'test' / '*' / '*.json'))
    assert results and json.load(open(results[0]))['mIoU'] == pytest.approx(miou)
    # --out: one predicted label map per val image
    assert len(glob.glob(osp.join(out_dir, '**', '*.png'), recursive=True)) == 2
    # --show-dir (mmseg): the painted images where its help says, SHOW_DIR/vis_data/vis_image
    assert len(glob.glob(str(tmp_path / 'show' / 'vis_data' / 'vis_image' / '*.png'))) == 2
    # the environment as it is on CPU
    assert 'Device: cpu' in log and 'GPU number' not in log


def test_resume_continues_iterations(trained, tiny_cityscapes, tmp_path):
    src, _ = trained
    work_dir = str(tmp_path / 'resume')
    shutil.copytree(src, work_dir)
    # auto resume (the latest checkpoint in the work dir), 2 more iterations;
    # loading goes through torch.load(weights_only=True) + mmacon's safe globals
    proc = run([python(), osp.join(TOOLS, 'train.py'), SEG_CONFIG, '--work-dir', work_dir,
                '--resume', '--cfg-options'] + seg_options(tiny_cityscapes, iters=4, val=False))
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [4/4]' in log
    assert 'Iter(train) [1/4]' not in log
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu')
    assert ckpt['meta']['iter'] == 4
    # the explicit form: --resume CKPT
    work_dir2 = str(tmp_path / 'resume2')
    proc = run([python(), osp.join(TOOLS, 'train.py'), SEG_CONFIG, '--work-dir', work_dir2,
                '--resume', osp.join(src, 'iter_2.pth'), '--cfg-options']
               + seg_options(tiny_cityscapes, iters=3, val=False))
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log and 'Iter(train) [3/3]' in log
