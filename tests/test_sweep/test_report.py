"""results.json / results.md from records: mean ± sample std, paired differences to ReLU."""
import json
import math

import pytest

from mmacon.sweep.report import markdown, mean_std, pm, summary, write_json


def rec(act, seed, value, task='det', stage='finetune', status='ok', **kw):
    return dict(name=f'{stage}/{task}-{act}/seed{seed}', stage=stage, task=task, activation=act,
                seed=seed, metric='coco/bbox_mAP', value=value, status=status,
                final_loss=0.5, iterations=10, wall_s=12.0, **kw)


RECORDS = [
    rec('relu', 0, 10.0, stage='pretrain', task='cls'),
    rec('relu', 0, 10.0), rec('relu', 1, 12.0), rec('relu', 2, 14.0),
    rec('metaacon', 0, 13.0), rec('metaacon', 1, 13.0), rec('metaacon', 2, 17.0),
    rec('aconc', 0, 9.0), rec('aconc', 1, None, status='failed'),
]


def test_mean_std():
    assert mean_std([10.0, 12.0, 14.0]) == (12.0, 2.0)
    assert mean_std([5.0]) == (5.0, None) and mean_std([]) == (None, None)
    assert pm(12.0, 2.0) == '12.00 ± 2.00' and pm(5.0, None) == '5.00' and pm(None, 1) == 'n/a'


def test_summary_rows():
    rows = {(r['stage'], r['task'], r['activation']): r for r in summary(RECORDS)}
    assert list(rows)[0] == ('pretrain', 'cls', 'relu')  # stage 1 first
    relu, meta, aconc = (rows[('finetune', 'det', a)] for a in ('relu', 'metaacon', 'aconc'))
    assert (relu['n'], relu['mean'], relu['std']) == (3, 12.0, 2.0)
    assert meta['mean'] == pytest.approx(43 / 3)
    mean = 43 / 3
    assert meta['std'] == pytest.approx(math.sqrt(((13 - mean) ** 2 * 2 + (17 - mean) ** 2) / 2))
    # per-seed differences 3, 1, 3
    assert meta['delta'] == pytest.approx(7 / 3) and meta['delta_n'] == 3
    d = 7 / 3
    assert meta['delta_std'] == pytest.approx(math.sqrt(((3 - d) ** 2 * 2 + (1 - d) ** 2) / 2))
    # the failed seed counts nowhere
    assert (aconc['n'], aconc['mean'], aconc['std'], aconc['delta'], aconc['delta_n']) == (
        1, 9.0, None, -1.0, 1)
    assert relu['delta'] is None


def test_markdown_table():
    text = markdown(RECORDS, title='T')
    assert text.startswith('# T\n')
    assert '9 runs (8 finished, 1 failed or not run), seeds [0, 1, 2]' in text
    assert '| finetune | det | coco/bbox_mAP | ReLU | 3 | 12.00 ± 2.00 |  |' in text
    assert ('| finetune | det | coco/bbox_mAP | Meta-ACON | 3 | 14.33 ± 2.31 | +2.33 ± 1.15 |'
            in text)
    assert '| finetune | det | coco/bbox_mAP | ACON-C | 1 | 9.00 | -1.00 |' in text
    assert '| finetune/det-aconc/seed1 | failed | coco/bbox_mAP | n/a |' in text
    # the per-run table keeps every record
    assert text.count('/seed') == len(RECORDS)


def test_json(tmp_path):
    path = str(tmp_path / 'results.json')
    write_json(RECORDS, path, wall_s=3.5)
    data = json.load(open(path))
    assert data['wall_s'] == 3.5 and data['records'] == RECORDS
