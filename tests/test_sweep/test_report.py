"""results.json / results.md from records: mean ± sample std, paired differences to ReLU."""
import json
import math

import pytest

from mmacon.sweep.report import (markdown, mean_std, mixed_setups, pm, setups, summary,
                                 sweep_times, write_json)


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


def test_sweep_times_are_the_union_of_the_runs_and_unknown_stays_unknown():
    runs = [rec('relu', 0, 1.0, start_time=100.0, end_time=110.0, cpu_s=20.0),
            rec('relu', 1, 1.0, start_time=105.0, end_time=112.0, cpu_s=14.0),
            rec('relu', 2, 1.0, start_time=120.0, end_time=125.0, cpu_s=10.0),
            rec('aconc', 0, None, status='not run')]  # never started: counts nowhere
    assert sweep_times(runs) == dict(wall_s=17.0, cpu_s=44.0)
    # a second call that skipped every run has the same records, so the same times
    assert sweep_times(list(reversed(runs))) == dict(wall_s=17.0, cpu_s=44.0)
    # a Slurm run's CPU time is unknown (srun is not the run): so is the sweep's
    runs[1]['cpu_s'] = None
    assert sweep_times(runs) == dict(wall_s=17.0, cpu_s=None)
    # a record written before start and end times were kept
    del runs[2]['start_time']
    assert sweep_times(runs)['wall_s'] is None
    assert sweep_times([]) == dict(wall_s=0.0, cpu_s=0.0)


AVX512 = dict(torch='2.13.0', device='cpu', cpu_capability='AVX512', threads=1, processes=1)
AVX2 = dict(AVX512, cpu_capability='AVX2')


def test_one_setup_is_stated():
    records = [rec('relu', 0, 10.0, setup=AVX512), rec('aconc', 0, 11.0, setup=AVX512),
               rec('aconc', 1, None, status='not run')]
    assert setups(records) == [dict(setup=AVX512, runs=[r['name'] for r in records[:2]],
                                    description='torch 2.13.0, CPU AVX512, 1 thread, 1 process')]
    assert mixed_setups(records) == []
    text = markdown(records)
    assert 'Setup of every run: torch 2.13.0, CPU AVX512, 1 thread, 1 process.' in text
    assert 'Warning' not in text


def test_means_over_runs_of_different_setups_are_flagged(tmp_path):
    records = [rec('relu', 0, 10.0, setup=AVX512), rec('relu', 1, 12.0, setup=AVX2),
               rec('metaacon', 0, 13.0, setup=AVX512),
               # a failed run on another setup merges into no mean
               rec('metaacon', 1, None, status='failed', setup=dict(AVX512, threads=2)),
               rec('relu', 0, 60.0, stage='pretrain', task='cls', setup=AVX512),
               rec('relu', 1, 61.0, stage='pretrain', task='cls', setup=None)]
    warnings = mixed_setups(records)
    assert warnings == [
        'pretrain / cls: mean ± std merges runs made on 2 setups, which need not give the same '
        'numbers for a seed (torch 2.13.0, CPU AVX512, 1 thread, 1 process: '
        'pretrain/cls-relu/seed0; unknown setup (not logged): pretrain/cls-relu/seed1)',
        'finetune / det: mean ± std merges runs made on 2 setups, which need not give the same '
        'numbers for a seed (torch 2.13.0, CPU AVX512, 1 thread, 1 process: '
        'finetune/det-relu/seed0, finetune/det-metaacon/seed0; torch 2.13.0, CPU AVX2, '
        '1 thread, 1 process: finetune/det-relu/seed1)']
    text = markdown(records)
    assert 'Setups (torch, device, threads and processes of each run):\n' in text
    assert ('- torch 2.13.0, CPU AVX512, 2 threads, 1 process: finetune/det-metaacon/seed1'
            in text)  # every run that ran is listed, failed or not
    assert f'**Warning**: {warnings[1]}.' in text
    write_json(records, str(tmp_path / 'r.json'), setups=setups(records), warnings=warnings)
    data = json.load(open(tmp_path / 'r.json'))
    assert data['warnings'] == warnings and len(data['setups']) == 4
    assert data['records'][1]['setup'] == AVX2
