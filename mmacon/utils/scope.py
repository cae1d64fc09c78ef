"""The OpenMMLab package a config trains with, picked from its ``default_scope``."""
from __future__ import annotations

from mmengine.config import Config

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def register_scope(cfg: Config) -> str:
    """Register every module of the package named by ``cfg.default_scope``.

    Returns the scope (``'mmdet'``, ``'mmseg'`` or ``'mmpretrain'``, the last for the
    ImageNet pretraining configs); any other scope is a ``ValueError``.
    """
    scope = cfg.get('default_scope')
    if scope == 'mmdet':
        from mmdet.utils import register_all_modules
    elif scope == 'mmseg':
        from mmseg.utils import register_all_modules
    elif scope == 'mmpretrain':
        from mmpretrain.utils import register_all_modules
    else:
        raise ValueError(f'config default_scope must be one of {SCOPES}, got {scope!r}')
    register_all_modules(init_default_scope=False)
    return scope
