# Copyright (c) mmacon contributors. All rights reserved.
"""What a run logged: mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json``.

mmengine writes one JSON object per line: training lines carry ``iter`` (and
``loss``), validation lines the metrics (``coco/bbox_mAP``, ``mIoU``,
``accuracy/top1``, ...) with ``step`` = the iteration or epoch. A resumed run
starts a new timestamp folder; the folders are read in time order and a later
line for the same step replaces an earlier one.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmacon.utils.run_setup import parse_setup

# keys of a validation line that are timings, not metrics
NOT_METRICS = frozenset({'step', 'data_time', 'time', 'epoch', 'iter'})
# mmdet's CocoMetric logs this and returns no metric when no box was predicted
EMPTY_COCO = 'The testing results of the whole dataset is empty'
# mmengine's load_state_dict warns so when a checkpoint misses or adds tensors
NOT_EXACT = 'The model and loaded state dict do not match exactly'


def log_dirs(work_dir: str) -> List[str]:
    """The run's mmengine timestamp folders, oldest first."""
    return sorted(d for d in glob.glob(osp.join(work_dir, '*_*'))
                  if osp.isfile(osp.join(d, 'vis_data', 'scalars.json')))


def read_scalars(work_dir: str) -> Tuple[List[dict], List[dict]]:
    """(training lines, validation lines) of every attempt of the run, by step."""
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for folder in log_dirs(work_dir):
        with open(osp.join(folder, 'vis_data', 'scalars.json')) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a killed run
                    continue
                target = train if 'iter' in record or 'loss' in record else val
                target[int(record.get('step', len(target)))] = record
    return [train[k] for k in sorted(train)], [val[k] for k in sorted(val)]


def final_metrics(val_lines: List[dict]) -> Dict[str, float]:
    """The metrics of the last validation (an empty dict when none ran)."""
    if not val_lines:
        return {}
    return {k: round(v, 6) if isinstance(v, float) else v
            for k, v in val_lines[-1].items() if k not in NOT_METRICS}


def loss_curve(train_lines: List[dict], key: str = 'loss') -> Tuple[List[int], List[float]]:
    steps = [r['step'] for r in train_lines if key in r]
    return steps, [r[key] for r in train_lines if key in r]


def last_log_contains(work_dir: str, text: str) -> bool:
    """Whether the mmengine log of the run's last attempt has a line containing ``text``."""
    dirs = log_dirs(work_dir)
    if not dirs:
        return False
    for path in glob.glob(osp.join(dirs[-1], '*.log')):
        with open(path, errors='replace') as f:
            if any(text in line for line in f):
                return True
    return False


def logged_setups(work_dir: str) -> List[Optional[dict]]:
    """Per attempt of the run, oldest first, the setup its log names (``Run setup:``,
    :mod:`mmacon.utils.run_setup`; None where it names none)."""
    setups = []
    for folder in log_dirs(work_dir):
        found = None
        for path in sorted(glob.glob(osp.join(folder, '*.log'))):
            with open(path, errors='replace') as f:
                found = parse_setup(f) or found
        setups.append(found)
    return setups


def found_no_detections(work_dir: str) -> bool:
    """Whether the run's last attempt logged mmdet's "no detections at all" message."""
    return last_log_contains(work_dir, EMPTY_COCO)


def pick_metric(metrics: Dict[str, float], wanted: Optional[str],
                defaults) -> Optional[str]:
    """The metric a run is judged by: ``wanted``, else the first default it logged."""
    if wanted:
        return wanted
    return next((k for k in defaults if k in metrics), None)


def as_percent(key: str, value: Optional[float]) -> Optional[float]:
    """A metric in percent: mmdet's COCO mAPs are logged as fractions, mmseg's and
    mmpretrain's metrics already in percent."""
    if value is None:
        return None
    if key.startswith('coco/') and 'mAP' in key:
        value = value * 100.0
    return round(float(value), 4)
