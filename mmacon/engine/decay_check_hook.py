"""``AconDecayCheckHook``: warn, with the count, when a run weight-decays ACON parameters."""
from __future__ import annotations

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS
from torch import nn

from .acon_params import acon_parameters

HOOK = dict(type='AconDecayCheckHook')


def decayed_acon_parameters(model: nn.Module, optim_wrapper) -> dict[str, float]:
    """``{name: weight_decay}`` of the trainable ACON parameters the optimizer decays.

    ``optim_wrapper``: an ``OptimWrapper``, an ``OptimWrapperDict`` or a torch optimizer.
    """
    if is_model_wrapper(model):
        model = model.module
    names = {id(p): name for name, p in acon_parameters(model).items() if p.requires_grad}
    wrappers = (optim_wrapper.values() if isinstance(optim_wrapper, OptimWrapperDict)
                else [optim_wrapper])
    decayed = {}
    for wrapper in wrappers:
        for group in getattr(wrapper, 'optimizer', wrapper).param_groups:
            decay = group.get('weight_decay') or 0.
            for p in group['params']:
                if decay > 0 and id(p) in names:
                    decayed[names[id(p)]] = decay
    return decayed


def decay_warning(decayed: dict[str, float], total: int) -> str:
    name, decay = next(iter(decayed.items()))
    return (f'{len(decayed)} of {total} ACON parameters (p1, p2, beta) are weight-decayed '
            f'(e.g. {name} with weight_decay={decay:g}); the ACON paper trains them without '
            "weight decay (decaying them hurts). Set optim_wrapper = dict(constructor="
            "'AconOptimWrapperConstructor', ...) in the config (mmacon.engine).")


@HOOKS.register_module()
class AconDecayCheckHook(Hook):
    """At ``before_train``, log a warning naming how many ACON parameters are decayed.

    The optimizer is built by then; its parameter groups are read as they are, so any
    constructor, ``paramwise_cfg`` or optimizer default (AdamW's 0.01) is judged.
    """

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        decayed = decayed_acon_parameters(runner.model, runner.optim_wrapper)
        if decayed:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            total = sum(p.requires_grad for p in acon_parameters(model).values())
            runner.logger.warning(decay_warning(decayed, total))


def add_decay_check(cfg: Config) -> Config:
    """Append :class:`AconDecayCheckHook` to ``cfg.custom_hooks`` unless it is there."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(h, dict) and h.get('type') in (HOOK['type'], AconDecayCheckHook)
               for h in hooks):
        hooks.append(dict(HOOK))
    cfg.custom_hooks = hooks
    return cfg
