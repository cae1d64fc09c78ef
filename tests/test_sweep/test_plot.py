"""results.png: written for records with and without logs."""
import os

from mmacon.sweep.plot import _mean_curve, plot_results


def test_mean_curve_over_common_steps():
    assert _mean_curve([([1, 2, 3], [3.0, 2.0, 1.0]), ([2, 3], [4.0, 3.0])]) == (
        [2, 3], [3.0, 2.0])


def test_png_written(tmp_path):
    records = [dict(stage='finetune', task='det', activation=a, seed=s, metric='coco/bbox_mAP',
                    value=v, status='ok', work_dir=str(tmp_path / 'none'))
               for a, s, v in (('relu', 0, 1.0), ('relu', 1, 2.0), ('metaacon', 0, 3.0))]
    records.append(dict(records[0], stage='pretrain', task='cls', value=None, status='failed'))
    path = str(tmp_path / 'results.png')
    plot_results(records, path, title='t')
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert os.path.getsize(path) > 5000
