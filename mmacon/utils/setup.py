"""Helpers for ``tools/train.py`` / ``tools/test.py``: registry scope and path checks."""
from __future__ import annotations

import os.path as osp
from typing import Iterator, List, Optional

from mmengine.config import Config

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')
_REMOTE_PREFIXES = ('http://', 'https://', 's3://', 'petrel://', 'open-mmlab://',
                    'torchvision://', 'modelzoo://', 'mmcls://', 'mmpretrain://',
                    'pavi://')


def register_scope(cfg: Config) -> str:
    """Register every module of the package named by ``cfg.default_scope``.

    Returns the scope (``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``).
    """
    scope = cfg.get('default_scope')
    if scope == 'mmdet':
        from mmdet.utils import register_all_modules
    elif scope == 'mmseg':
        from mmseg.utils import register_all_modules
    elif scope == 'mmpretrain':  # the ImageNet pretraining configs
        from mmpretrain.utils import register_all_modules
    else:
        raise ValueError(f'config default_scope must be one of {SCOPES}, got {scope!r}')
    register_all_modules(init_default_scope=False)
    return scope


def is_remote(path: str) -> bool:
    return str(path).startswith(_REMOTE_PREFIXES)


def check_checkpoint(path: Optional[str], what: str = 'checkpoint') -> None:
    """Raise ``FileNotFoundError`` naming ``path`` when a local checkpoint is missing."""
    if path is None or is_remote(path):
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {osp.abspath(path)}')


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
    """Raise ``FileNotFoundError`` before training when a local pretrained checkpoint in
    ``cfg.model`` is missing (mmengine would only fail at ``init_weights``)."""
    for key, path in _pretrained(cfg.get('model'), 'model'):
        if not is_remote(path) and not osp.isfile(path):
            raise FileNotFoundError(
                f'pretrained checkpoint not found: {osp.abspath(path)} ({key}). Convert the '
                'official ACON release with tools/model_converters/acon2mmacon.py (see '
                "docs/transfer_learning.md), train the ImageNet config that produces it "
                "(configs/imagenet/README.md), or train from scratch with "
                "--cfg-options model.backbone.init_cfg=None")


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
