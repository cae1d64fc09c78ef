"""The tiny configs also train with mmdet's and mmseg's own packaged tools/train.py."""
import os.path as osp

import pytest

import mmdet
import mmseg
from tests.test_tools.tool_helpers import DET_CONFIG, SEG_CONFIG, det_options, python, run, seg_options

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]


def _packaged_train(pkg):
    path = osp.join(osp.dirname(pkg.__file__), '.mim', 'tools', 'train.py')
    if not osp.isfile(path):
        pytest.skip(f'{pkg.__name__} has no packaged tools/train.py')
    return path


def test_mmdet_packaged_train(tiny_coco, tmp_path):
    work_dir = str(tmp_path / 'det')
    options = det_options(tiny_coco, iters=2) + ['train_cfg.val_interval=1000']
    proc = run([python(), _packaged_train(mmdet), DET_CONFIG, '--work-dir', work_dir,
                '--cfg-options'] + options)
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))


def test_mmseg_packaged_train(tiny_cityscapes, tmp_path):
    work_dir = str(tmp_path / 'seg')
    proc = run([python(), _packaged_train(mmseg), SEG_CONFIG, '--work-dir', work_dir,
                '--cfg-options'] + seg_options(tiny_cityscapes, iters=2, val=False))
    log = proc.stdout + proc.stderr
    assert 'Iter(train) [2/2]' in log
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
