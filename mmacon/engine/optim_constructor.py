"""``AconOptimWrapperConstructor``: mmengine's default constructor + no decay for ACON."""
from __future__ import annotations

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from .acon_params import ACON_MODULES, acon_parameters


class _ParamGroups:
    """Stands in for the model where the default constructor only calls ``parameters()``."""

    def __init__(self, groups: list[dict]) -> None:
        self.groups = groups

    def parameters(self) -> list[dict]:
        return self.groups


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class AconOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that keeps ACON's p1, p2 and beta out of weight decay.

    The ACON paper's recipe (and the official code) decays only weights of more than one
    dimension; decaying p1, p2 and beta hurts. In a config::

        custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)
        optim_wrapper = dict(constructor='AconOptimWrapperConstructor')

    ACON parameters are found by module type (:func:`acon_parameters`: AconA, AconB,
    AconC, MetaAconC, AconFReLU). Each gets the parameter group the default
    constructor gives it under the same ``paramwise_cfg`` (``lr_mult`` of a custom key,
    ...) with ``weight_decay=0``; every other parameter gets exactly the default's
    group. Meta-ACON's generator (``fc1``, ``bn1``, ``fc2``, ``bn2``) and ACON-FReLU's
    conv and BNs are ordinary layers and follow ``paramwise_cfg`` like any other conv
    or norm, as in the official recipe (their >1-D weights are decayed). Without
    ``paramwise_cfg`` the default puts all parameters in one group; here that group
    minus the ACON parameters, plus one group of them with ``weight_decay=0``. A
    model without ACON gets the default constructor's groups unchanged.
    """

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: int | float | None = None) -> None:
        first = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        if isinstance(module, ACON_MODULES):
            own = {id(p) for p in module.parameters(recurse=False)}
            for group in params[first:]:  # this module's groups, then its children's
                if any(id(p) in own for p in group['params']):
                    group['weight_decay'] = 0.
                    if 'decay_mult' in group:  # copied from a matching custom key
                        group['decay_mult'] = 0.

    def __call__(self, model: nn.Module) -> OptimWrapper:
        module = model.module if hasattr(model, 'module') else model
        acon = acon_parameters(module)
        if not acon:
            return super().__call__(model)
        print_log(f'AconOptimWrapperConstructor: {len(acon)} ACON parameters (p1, p2, beta) '
                  'without weight decay', logger='current')
        if self.paramwise_cfg:
            return super().__call__(model)  # add_params above zeroes their decay
        # the default's single group, split in two
        ids = {id(p) for p in acon.values()}
        others = [p for p in module.parameters() if id(p) not in ids]
        groups = [dict(params=others), dict(params=list(acon.values()), weight_decay=0.)]
        return super().__call__(_ParamGroups([g for g in groups if g['params']]))
