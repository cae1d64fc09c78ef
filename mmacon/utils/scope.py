"""The OpenMMLab package a config trains with, picked from its ``default_scope``."""
from __future__ import annotations

from importlib import import_module

from mmengine.config import Config

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')
# scope -> (distribution, mmacon extra that installs it)
EXTRAS = dict(mmdet=('mmdet', 'det'), mmseg=('mmsegmentation', 'seg'),
              mmpretrain=('mmpretrain', 'cls'))


def register_scope(cfg: Config) -> str:
    """Register every module of the package named by ``cfg.default_scope``.

    Returns the scope (``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``, the last for the
    ImageNet pretraining configs); any other scope is a ``ValueError``.
    """
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'config default_scope must be one of {SCOPES}, got {scope!r}')
    try:
        utils = import_module(f'{scope}.utils')
    except ModuleNotFoundError as error:
        if (error.name or '').split('.')[0] != scope:
            raise
        dist, extra = EXTRAS[scope]
        raise ModuleNotFoundError(
            f"config default_scope={scope!r} needs {dist}, which is not installed: "
            f'pip install "mmacon[{extra}]"', name=scope) from None
    utils.register_all_modules(init_default_scope=False)
    return scope
