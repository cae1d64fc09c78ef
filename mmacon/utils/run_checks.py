"""Checks ``tools/train.py`` and ``tools/test.py`` run on a config before building a Runner.

Each fails up front with one error naming the file or config key, where mmengine would
fail later (or with a bare ``KeyError`` / ``EOFError`` / torch's unsafe-load advice):
local checkpoints (``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')``, the
test checkpoint) through :func:`mmacon.utils.checkpoint.check_checkpoint_file`, data
paths, and ``--amp`` without CUDA.
"""
from __future__ import annotations

import os.path as osp
from typing import Iterator, List, Optional

import torch
from mmengine.config import Config

from .checkpoint import check_checkpoint_file

_REMOTE_PREFIXES = ('http://', 'https://', 's3://', 'petrel://', 'open-mmlab://',
                    'torchvision://', 'modelzoo://', 'mmcls://', 'mmpretrain://',
                    'pavi://')


def is_remote(path: str) -> bool:
    return str(path).startswith(_REMOTE_PREFIXES)


def check_checkpoint(path: Optional[str], what: str = 'checkpoint') -> None:
    """Refuse a local checkpoint that is missing (``CheckpointNotFoundError``, also a
    ``FileNotFoundError``), empty, truncated, not a PyTorch file or carrying pickled code
    (``CheckpointError``), naming ``path``; remote URLs are left to mmengine."""
    if path is None or is_remote(path):
        return
    check_checkpoint_file(path, what)


def check_resume(cfg: Config) -> None:
    """Check the checkpoint ``Runner.resume`` will load: ``cfg.load_from``, or with
    ``resume=True`` and no ``load_from`` the one ``work_dir/last_checkpoint`` names."""
    if not cfg.get('resume'):
        return
    if cfg.get('load_from'):
        check_checkpoint(cfg.load_from, 'resume checkpoint')
        return
    from mmengine.runner import find_latest_checkpoint
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest:
        check_checkpoint(latest, f'resume checkpoint (from {cfg.work_dir}/last_checkpoint)')


def check_amp(cfg: Config) -> None:
    """``AmpOptimWrapper`` needs CUDA: say so up front instead of mmengine's assertion."""
    wrapper = cfg.get('optim_wrapper') or {}
    if wrapper.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
        raise RuntimeError(
            'mixed precision (--amp, or optim_wrapper.type=AmpOptimWrapper) needs a CUDA '
            "GPU: mmengine's AmpOptimWrapper does not train on CPU. Drop --amp (or set "
            "--cfg-options optim_wrapper.type=OptimWrapper) to train in float32 on CPU")


def _pretrained(node, where: str) -> Iterator[tuple[str, str]]:
    """(config key, checkpoint) of every ``init_cfg=dict(type='Pretrained', ...)`` in ``node``."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        inits = init if isinstance(init, (list, tuple)) else [init]
        for item in inits:
            if isinstance(item, dict) and item.get('type') == 'Pretrained' and item.get(
                    'checkpoint'):
                yield f'{where}.init_cfg.checkpoint', str(item['checkpoint'])
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _pretrained(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _pretrained(value, f'{where}[{i}]')


def check_pretrained(cfg: Config) -> None:
    """Check every local ``init_cfg=dict(type='Pretrained')`` checkpoint in ``cfg.model``
    before training (mmengine would only fail at ``init_weights``): a missing one is a
    ``FileNotFoundError`` naming the config key and the converter, a bad one a
    ``CheckpointError``."""
    for key, path in _pretrained(cfg.get('model'), 'model'):
        if is_remote(path):
            continue
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'pretrained checkpoint not found: {osp.abspath(path)} ({key}). Convert the '
                'official ACON release with tools/model_converters/acon2mmacon.py (see '
                "docs/transfer_learning.md), train the ImageNet config that produces it "
                "(configs/imagenet/README.md), or train from scratch with "
                "--cfg-options model.backbone.init_cfg=None")
        check_checkpoint_file(path, f'pretrained checkpoint ({key})')


def _datasets(cfg) -> Iterator[dict]:
    """The leaf dataset configs of a (possibly wrapped) dataset config."""
    if cfg is None:
        return
    if 'dataset' in cfg:  # RepeatDataset, ClassBalancedDataset, MultiImageMixDataset
        yield from _datasets(cfg['dataset'])
    elif 'datasets' in cfg:  # ConcatDataset
        for sub in cfg['datasets']:
            yield from _datasets(sub)
    else:
        yield cfg


def _join(root: Optional[str], path: str) -> str:
    if not path or osp.isabs(path) or is_remote(path) or root is None:
        return path
    return osp.join(root, path)


def missing_data_paths(dataset_cfg) -> List[str]:
    """Local data root, annotation file and data prefixes that do not exist."""
    missing = []
    for ds in _datasets(dataset_cfg):
        root = ds.get('data_root')
        if root and not is_remote(root) and not osp.isdir(root):
            missing.append(root)
            continue
        ann_file = ds.get('ann_file')
        if ann_file:
            ann_path = _join(root, ann_file)
            if not is_remote(ann_path) and not osp.exists(ann_path):
                missing.append(ann_path)
        for prefix in (ds.get('data_prefix') or {}).values():
            if isinstance(prefix, str) and prefix:
                path = _join(root, prefix)
                if not is_remote(path) and not osp.isdir(path):
                    missing.append(path)
    return missing


def check_data_paths(cfg: Config, mode: str) -> None:
    """Raise ``FileNotFoundError`` naming the missing paths of the data sets
    ``mode`` ('train': train + val, 'test': test) will read."""
    loaders = ['train_dataloader']
    if cfg.get('val_cfg') and cfg.get('val_dataloader'):
        loaders.append('val_dataloader')
    if mode == 'test':
        loaders = ['test_dataloader']
    missing = []
    for name in loaders:
        loader = cfg.get(name)
        if loader is not None:
            missing += [p for p in missing_data_paths(loader.get('dataset'))
                        if p not in missing]
    if missing:
        hint = ''
        if any('tiny_' in p for p in missing):
            hint = ('\nThe tiny data sets are generated by: '
                    'python tools/misc/make_tiny_datasets.py --out data/')
        raise FileNotFoundError(
            'data not found: ' + ', '.join(osp.abspath(p) for p in missing) +
            ' (set the data root with --cfg-options or place the data set there)' + hint)
