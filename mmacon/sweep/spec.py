# Copyright (c) mmacon contributors. All rights reserved.
"""The benchmark matrix: configs x seeds, optionally in two stages.

A spec is a Python file read with mmengine's ``Config`` (all keys optional
but ``configs``)::

    seeds = [0, 1, 2]
    cfg_options = {'train_cfg.max_iters': 1000}     # every run
    pretrain = [                                    # stage 1 (optional)
        'configs/imagenet/resnet18-relu_8xb32_in1k.py',
        dict(config='configs/imagenet/resnet18-metaacon_8xb32_in1k.py',
             activation='metaacon', cfg_options={'train_cfg.max_epochs': 10}),
    ]
    configs = [                                     # stage 2 (or the only one)
        'configs/retinanet/retinanet_r18-relu_fpn_1x_coco.py',
        dict(config='configs/retinanet/retinanet_r18-metaacon_fpn_1x_coco.py',
             task='det', metric='coco/bbox_mAP', pretrain='resnet18-metaacon_8xb32_in1k'),
    ]
    # how a stage-2 run starts from its stage-1 checkpoint ('{checkpoint}' is filled in)
    pretrained_options = {'model.backbone.init_cfg._delete_': True,
                          'model.backbone.init_cfg.type': 'Pretrained',
                          'model.backbone.init_cfg.checkpoint': '{checkpoint}',
                          'model.backbone.init_cfg.prefix': 'backbone.'}

Each entry is a config path or a dict with ``config`` and optionally
``activation`` (default: read from the file name, e.g. ``-metaacon``), ``task``
(default: the file name without its activation, so the ReLU / ACON twins of
one config share a task), ``metric`` (default: the first of
:data:`DEFAULT_METRICS` the run logs), ``cfg_options`` and, for stage 2,
``pretrain``: the stage-1 config (name or path) whose checkpoint it starts
from (default: the stage-1 config of the same activation, which must then be
unique). Every seed runs every entry; a stage-2 run of seed S starts from the
stage-1 run of seed S. Each run sets ``randomness.seed``.
"""
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

# file-name token -> display name; 'relu' is the baseline every other is compared to
ACTIVATIONS = {
    'relu': 'ReLU',
    'acona': 'ACON-A',
    'aconb': 'ACON-B',
    'aconc': 'ACON-C',
    'metaacon': 'Meta-ACON',
    'frelu': 'ACON-FReLU',
}
BASELINE = 'relu'
# the metric a run is judged by, in this order, when its entry names none
DEFAULT_METRICS = ('coco/bbox_mAP', 'mIoU', 'accuracy/top1')
DEFAULT_PRETRAINED_OPTIONS = {
    'model.backbone.init_cfg._delete_': True,
    'model.backbone.init_cfg.type': 'Pretrained',
    'model.backbone.init_cfg.checkpoint': '{checkpoint}',
    'model.backbone.init_cfg.prefix': 'backbone.',
}
SPEC_KEYS = ('seeds', 'cfg_options', 'pretrain', 'configs', 'pretrained_options')
ENTRY_KEYS = ('config', 'activation', 'task', 'metric', 'cfg_options', 'pretrain')


@dataclass
class SweepRun:
    """One training run of the matrix: a config, a seed, a stage."""
    stage: str  # 'pretrain', 'finetune' (stage 2 of two) or 'train' (a single stage)
    config: str  # absolute path
    task: str
    activation: str
    seed: int
    metric: Optional[str] = None  # None: the first of DEFAULT_METRICS the run logs
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    pretrain: Optional['SweepRun'] = None  # the run whose checkpoint this one starts from

    @property
    def stem(self) -> str:
        return osp.splitext(osp.basename(self.config))[0]

    @property
    def name(self) -> str:
        return f'{self.stage}/{self.stem}/seed{self.seed}'

    def work_dir(self, root: str) -> str:
        return osp.join(root, self.stage, self.stem, f'seed{self.seed}')


def activation_of(config: str) -> str:
    """The activation named in a config's file name (``..._r18-metaacon_...`` -> 'metaacon')."""
    tokens = re.split(r'[-_.]', osp.basename(config).lower())
    found = [t for t in tokens if t in ACTIVATIONS]
    if len(found) != 1:
        raise ValueError(
            f'cannot tell the activation of {config} from its file name (tokens {found}, '
            f'known: {sorted(ACTIVATIONS)}): give it in the spec, '
            f"dict(config='{config}', activation='relu')")
    return found[0]


def task_of(config: str, activation: str) -> str:
    """The config's file name with its activation token replaced by ``*``."""
    stem = osp.splitext(osp.basename(config))[0]
    return re.sub(rf'(?<![a-z0-9]){activation}(?![a-z0-9])', '*', stem, count=1,
                  flags=re.IGNORECASE)


def _entries(value, where: str) -> List[dict]:
    if value is None:
        return []
    if isinstance(value, (str, dict)) or not isinstance(value, Sequence):
        value = [value]
    entries = []
    for i, item in enumerate(value):
        entry = dict(config=item) if isinstance(item, str) else dict(item)
        unknown = sorted(set(entry) - set(ENTRY_KEYS))
        if 'config' not in entry or unknown:
            raise ValueError(f'{where}[{i}] = {item!r}: an entry is a config path or a dict '
                             f'with config= and optionally {ENTRY_KEYS[1:]}; unknown: {unknown}')
        entries.append(entry)
    return entries


def _resolve(path: str, base_dir: str) -> str:
    for candidate in (path, osp.join(base_dir, path)):
        if osp.isfile(candidate):
            return osp.abspath(candidate)
    raise FileNotFoundError(f'benchmark config not found: {path} (looked in the current '
                            f'directory and {base_dir})')


def build_runs(configs: Sequence[Union[str, dict]],
               seeds: Sequence[int],
               pretrain: Sequence[Union[str, dict]] = (),
               cfg_options: Optional[Dict[str, Any]] = None,
               base_dir: str = '.') -> List[SweepRun]:
    """The runs of the matrix, stage-1 runs first, then in seed-major order."""
    if not seeds:
        raise ValueError('a benchmark needs at least one seed (seeds=[0])')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds {list(seeds)} repeat a seed: a repeated run is skipped, '
                         'not run again')
    common = dict(cfg_options or {})
    pre_entries = _entries(pretrain, 'pretrain')
    entries = _entries(configs, 'configs')
    if not entries:
        raise ValueError('a benchmark needs at least one config (configs=[...])')

    def make(entry, stage, seed):
        config = _resolve(entry['config'], base_dir)
        act = entry.get('activation') or activation_of(config)
        if act not in ACTIVATIONS:
            raise ValueError(f'activation {act!r} of {config} is not one of {sorted(ACTIVATIONS)}')
        return SweepRun(stage=stage, config=config, activation=act, seed=int(seed),
                        task=entry.get('task') or task_of(config, act),
                        metric=entry.get('metric'),
                        cfg_options={**common, **(entry.get('cfg_options') or {})})

    runs, by_seed = [], {}
    for seed in seeds:
        by_seed[seed] = [make(e, 'pretrain', seed) for e in pre_entries]
        runs += by_seed[seed]
    stage = 'finetune' if pre_entries else 'train'
    for seed in seeds:
        for entry in entries:
            run = make(entry, stage, seed)
            if pre_entries:
                run.pretrain = _pick_pretrain(run, entry.get('pretrain'), by_seed[seed])
            elif entry.get('pretrain'):
                raise ValueError(f"{entry['config']}: pretrain={entry['pretrain']!r} given but "
                                 'the spec has no pretrain stage')
            runs.append(run)
    names = [r.name for r in runs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'the matrix names these runs twice: {dup} (one config per entry)')
    return runs


def _pick_pretrain(run: SweepRun, wanted: Optional[str],
                   candidates: List[SweepRun]) -> SweepRun:
    if wanted:
        stem = osp.splitext(osp.basename(wanted))[0]
        found = [c for c in candidates if c.stem == stem]
        what = f'pretrain={wanted!r}'
    else:
        found = [c for c in candidates if c.activation == run.activation]
        what = f'activation {run.activation!r}'
    if len(found) != 1:
        raise ValueError(
            f'{run.stem}: {len(found)} pretrain configs match {what} '
            f'({[c.stem for c in found] or [c.stem for c in candidates]}); name one with '
            f"dict(config='{run.stem}.py', pretrain='<stage-1 config name>')")
    return found[0]


def load_spec(path: str) -> dict:
    """Read a spec file (see the module docstring) into build_runs' keyword arguments."""
    from mmengine.config import Config
    if not osp.isfile(path):
        raise FileNotFoundError(f'benchmark spec not found: {osp.abspath(path)}')
    cfg = Config.fromfile(path).to_dict()
    unknown = sorted(set(cfg) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f'{path}: unknown spec keys {unknown}; a spec has {SPEC_KEYS}')
    spec = {k: cfg[k] for k in SPEC_KEYS if k in cfg}
    spec.setdefault('seeds', [0])
    return spec


def format_option(value: Any) -> str:
    """A config value as ``tools/train.py --cfg-options key=VALUE`` parses it back."""
    if isinstance(value, (list, tuple)):
        inner = ','.join(format_option(v) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner})'
    if isinstance(value, dict):
        raise ValueError(f'{value!r}: give a dict option as dotted keys '
                         "({'a.b.c': 1} instead of {'a.b': dict(c=1)})")
    return str(value)


def flatten_options(options: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``; keys already dotted stay as they are."""
    flat = {}
    for key, value in options.items():
        if isinstance(value, dict):
            flat.update(flatten_options(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat
