"""mmengine training pieces: the paper's no-decay rule for ACON parameters, and its check.

Importing :mod:`mmacon` registers both in mmengine's root registries, so mmdet, mmseg and
mmpretrain configs (child registries) find them by name:

- ``optim_wrapper = dict(constructor='AconOptimWrapperConstructor', ...)``
  (:class:`AconOptimWrapperConstructor`);
- ``custom_hooks = [dict(type='AconDecayCheckHook')]`` (:class:`AconDecayCheckHook`;
  ``tools/train.py`` adds it to every run).
"""
from .acon_params import ACON_MODULES, acon_parameters
from .decay_check_hook import AconDecayCheckHook, add_decay_check, decayed_acon_parameters
from .optim_constructor import AconOptimWrapperConstructor

__all__ = ['ACON_MODULES', 'acon_parameters', 'AconOptimWrapperConstructor',
           'AconDecayCheckHook', 'add_decay_check', 'decayed_acon_parameters']
