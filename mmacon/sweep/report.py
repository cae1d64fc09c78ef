# Copyright (c) mmacon contributors. All rights reserved.
"""Benchmark records -> ``results.json`` and ``results.md``.

``results.md`` has, per stage, task and activation, the metric's mean +- sample
standard deviation over seeds, and for each ACON variant its difference to the
ReLU baseline of the same task: ``ACON - ReLU`` per seed (the two runs share
the seed and, in two-stage benchmarks, start from stage-1 runs of that seed),
mean +- standard deviation of those differences.

Each record names the setup its run was made on (torch version, CUDA device or CPU
capability, threads, processes: :mod:`mmacon.utils.run_setup`). The same seed gives the
same numbers on one setup only, so both files list the setups, and :func:`mixed_setups`
names every task whose mean +- std merges runs made on different ones.
"""
import json
import math
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from mmacon.utils.run_setup import describe_setup, setup_key
from .spec import ACTIVATIONS, BASELINE

STAGES = ('pretrain', 'finetune', 'train')


def mean_std(values: Sequence[float]) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation (None for fewer than two values)."""
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def pm(mean: Optional[float], std: Optional[float], digits: int = 2) -> str:
    if mean is None:
        return 'n/a'
    text = f'{mean:.{digits}f}'
    return text + (f' ± {std:.{digits}f}' if std is not None else '')


def _key(record: dict) -> Tuple[str, str]:
    return record['stage'], record['task']


def groups(records: List[dict]) -> OrderedDict:
    """(stage, task) -> activation -> seed -> value, for runs with a value."""
    out: 'OrderedDict' = OrderedDict()
    for stage in STAGES:
        for r in records:
            if r['stage'] != stage:
                continue
            seeds = out.setdefault(_key(r), {}).setdefault(r['activation'], {})
            if r.get('value') is not None:
                seeds[r['seed']] = r['value']
    return out


def summary(records: List[dict]) -> List[dict]:
    """One row per (stage, task, activation): n, mean, std, and the difference to ReLU."""
    rows = []
    metric_of = {}
    for r in records:
        if r.get('metric'):
            metric_of.setdefault(_key(r), r['metric'])
    for (stage, task), by_act in groups(records).items():
        base = by_act.get(BASELINE, {})
        for act in sorted(by_act, key=lambda a: list(ACTIVATIONS).index(a)):
            seeds = by_act[act]
            mean, std = mean_std(list(seeds.values()))
            row = dict(stage=stage, task=task, metric=metric_of.get((stage, task)),
                       activation=act, n=len(seeds), seeds=sorted(seeds), mean=mean, std=std,
                       delta=None, delta_std=None, delta_n=0)
            paired = sorted(set(seeds) & set(base))
            if act != BASELINE and paired:
                diffs = [seeds[s] - base[s] for s in paired]
                row['delta'], row['delta_std'] = mean_std(diffs)
                row['delta_n'] = len(diffs)
            rows.append(row)
    return rows


def ran(records: List[dict]) -> List[dict]:
    """The records of runs that were started (finished or failed), not those not run."""
    return [r for r in records if r.get('status') in ('ok', 'failed')]


def sweep_times(records: List[dict]) -> dict:
    """``wall_s``: the time during which at least one run was running (the union of the
    runs' start-end intervals, across calls: a second call that skips finished runs keeps
    it); ``cpu_s``: the runs' CPU seconds. Each is None (unknown) when a run that ran
    lacks it: a Slurm run's CPU time, a record written before times were kept."""
    runs = ran(records)
    spans = [(r.get('start_time'), r.get('end_time')) for r in runs]
    wall = None
    if all(a is not None and b is not None for a, b in spans):
        wall, end = 0.0, None
        for a, b in sorted(spans):
            if end is None or a > end:
                wall, end = wall + (b - a), b
            elif b > end:
                wall, end = wall + (b - end), b
    cpu = [r.get('cpu_s') for r in runs]
    return dict(wall_s=None if wall is None else round(wall, 1),
                cpu_s=None if None in cpu else round(sum(cpu), 1))


def setups(records: List[dict]) -> List[dict]:
    """The distinct setups of the runs that ran: the setup, its description and its runs."""
    out: 'OrderedDict' = OrderedDict()
    for r in ran(records):
        key = setup_key(r.get('setup'))
        entry = out.setdefault(key, dict(setup=r.get('setup'),
                                         description=describe_setup(r.get('setup')), runs=[]))
        entry['runs'].append(r['name'])
    return list(out.values())


def mixed_setups(records: List[dict]) -> List[str]:
    """One message per (stage, task) whose mean +- std (or difference to ReLU) merges
    runs with a value made on different setups."""
    messages = []
    for stage, task in groups(records):
        merged = [r for r in records if _key(r) == (stage, task) and r.get('value') is not None]
        found = setups(merged)
        if len(found) > 1:
            where = '; '.join(f"{e['description']}: {', '.join(e['runs'])}" for e in found)
            messages.append(f'{stage} / {task}: mean ± std merges runs made on '
                            f'{len(found)} setups, which need not give the same numbers for '
                            f'a seed ({where})')
    return messages


def write_json(records: List[dict], path: str, **meta) -> None:
    with open(path, 'w') as f:
        json.dump(dict(meta, records=records), f, indent=2)


def markdown(records: List[dict], title: str = 'Benchmark results') -> str:
    ok = [r for r in records if r['status'] == 'ok']
    seeds = sorted({r['seed'] for r in records})
    lines = [
        f'# {title}', '',
        f'{len(records)} runs ({len(ok)} finished, {len(records) - len(ok)} failed or not run), '
        f'seeds {seeds}. Mean ± sample standard deviation over seeds; '
        f'"vs ReLU": the variant minus ReLU of the same seed, mean ± std over seeds. '
        'COCO mAP in %.', '',
    ]
    found = setups(records)
    if len(found) == 1:
        lines += [f"Setup of every run: {found[0]['description']}.", '']
    elif found:
        lines += ['Setups (torch, device, threads and processes of each run):'] + [
            f"- {e['description']}: {', '.join(e['runs'])}" for e in found] + ['']
    lines += [f'**Warning**: {m}.' for m in mixed_setups(records)]
    if lines[-1] != '':
        lines.append('')
    lines += ['| stage | task | metric | activation | n | mean ± std | vs ReLU |',
              '|---|---|---|---|---|---|---|']
    for row in summary(records):
        delta = '' if row['activation'] == BASELINE else (
            pm(row['delta'], row['delta_std']) if row['delta_n'] else 'n/a')
        if delta and row['delta'] is not None and not delta.startswith('-'):
            delta = '+' + delta
        lines.append(f"| {row['stage']} | {row['task']} | {row['metric'] or 'n/a'} | "
                     f"{ACTIVATIONS[row['activation']]} | {row['n']} | "
                     f"{pm(row['mean'], row['std'])} | {delta} |")
    lines += ['', '## Runs', '',
              '| run | status | metric | value | final loss | iterations | wall (s) | CPU (s) '
              '| note |',
              '|---|---|---|---|---|---|---|---|---|']
    for r in records:
        value = 'n/a' if r.get('value') is None else f"{r['value']:.2f}"
        loss = 'n/a' if r.get('final_loss') is None else f"{r['final_loss']:.4f}"
        note = r.get('note') or ''
        if r.get('resumed_from'):
            note = (note + '; ' if note else '') + 'resumed'
        cpu = 'n/a' if r.get('cpu_s') is None else f"{r['cpu_s']:.0f}"
        lines.append(f"| {r['name']} | {r['status']} | {r.get('metric') or 'n/a'} | {value} | "
                     f"{loss} | {r.get('iterations') or 'n/a'} | {r.get('wall_s', 0):.0f} | "
                     f'{cpu} | {note} |')
    return '\n'.join(lines) + '\n'


def write_markdown(records: List[dict], path: str, **kwargs) -> str:
    text = markdown(records, **kwargs)
    with open(path, 'w') as f:
        f.write(text)
    return text
