"""Reading what mmengine logged: its own LocalVisBackend writes the files read here."""
import json
import os

from mmengine.visualization import LocalVisBackend

from mmacon.sweep.scalars import (EMPTY_COCO, as_percent, final_metrics,
                                  found_no_detections, logged_setups, loss_curve, pick_metric,
                                  read_scalars)


def write_attempt(work_dir, stamp, lines, log_text=''):
    """One mmengine attempt: ``<work_dir>/<stamp>/vis_data/scalars.json`` and its log."""
    folder = os.path.join(work_dir, stamp)
    backend = LocalVisBackend(save_dir=os.path.join(folder, 'vis_data'))
    for step, scalars in lines:
        backend.add_scalars(scalars, step=step)
    with open(os.path.join(folder, f'{stamp}.log'), 'w') as f:
        f.write(log_text)


def test_attempts_merge_in_time_order(tmp_path):
    wd = str(tmp_path)
    # first attempt: iterations 1-2 then killed; the resumed attempt redoes 2 and validates
    write_attempt(wd, '20260101_000000', [(1, dict(loss=3.0, iter=1, lr=0.1)),
                                          (2, dict(loss=9.0, iter=2, lr=0.1))])
    write_attempt(wd, '20260101_000500', [
        (2, dict(loss=2.0, iter=2, lr=0.1)), (3, dict(loss=1.0, iter=3, lr=0.1)),
        (3, {'coco/bbox_mAP': 0.123456789, 'coco/bbox_mAP_50': 0.5, 'data_time': 0.1,
             'time': 0.2})])
    train, val = read_scalars(wd)
    assert loss_curve(train) == ([1, 2, 3], [3.0, 2.0, 1.0])
    assert final_metrics(val) == {'coco/bbox_mAP': 0.123457, 'coco/bbox_mAP_50': 0.5}
    assert pick_metric(final_metrics(val), None, ('mIoU', 'coco/bbox_mAP')) == 'coco/bbox_mAP'
    assert pick_metric({}, 'mIoU', ()) == 'mIoU' and pick_metric({}, None, ('mIoU',)) is None


def test_no_validation_no_metrics(tmp_path):
    write_attempt(str(tmp_path), '20260101_000000', [(1, dict(loss=3.0, iter=1))])
    assert final_metrics(read_scalars(str(tmp_path))[1]) == {}
    assert read_scalars(str(tmp_path / 'missing')) == ([], [])


def test_cut_line_of_a_killed_run_is_ignored(tmp_path):
    write_attempt(str(tmp_path), '20260101_000000', [(1, dict(loss=3.0, iter=1))])
    with open(tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json', 'a') as f:
        f.write('{"loss": 2.0, "it')
    assert loss_curve(read_scalars(str(tmp_path))[0]) == ([1], [3.0])


def test_no_detections_is_read_from_the_last_attempt_log(tmp_path):
    wd = str(tmp_path)
    write_attempt(wd, '20260101_000000', [(1, dict(loss=1.0, iter=1))],
                  f'12/01 19:00:00 - mmengine - ERROR - {EMPTY_COCO}.\n')
    assert found_no_detections(wd)
    write_attempt(wd, '20260101_000500', [(1, dict(loss=1.0, iter=1))], 'all fine\n')
    assert not found_no_detections(wd)


def test_percent():
    assert as_percent('coco/bbox_mAP', 0.673) == 67.3  # not 67.30000000000001
    assert as_percent('mIoU', 41.25) == 41.25
    assert as_percent('accuracy/top1', 7) == 7.0 and as_percent('mIoU', None) is None
    assert str(as_percent('coco/bbox_mAP', 0.6730000000000001)) == '67.3'


def test_setup_of_each_attempt(tmp_path):
    wd = str(tmp_path)
    one = dict(torch='2.13.0', device='cpu', cpu_capability='AVX512', threads=1, processes=2)
    write_attempt(wd, '20260101_000000', [(1, dict(loss=3.0, iter=1))],
                  f'12/04 20:42:53 - mmengine - INFO - Run setup: {json.dumps(one)}\n')
    write_attempt(wd, '20260101_000500', [(2, dict(loss=2.0, iter=2))], 'no setup logged\n')
    assert logged_setups(wd) == [one, None]
    assert logged_setups(str(tmp_path / 'never_ran')) == []
