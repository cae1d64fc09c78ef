"""Freezing: stop a module's gradients, keep its norms' statistics fixed; and freeze a
backbone's ``frozen_stages`` once, after every one of its parameters exists."""
from __future__ import annotations

import functools

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def freeze(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop its gradients."""
    module.eval()
    for param in module.parameters():
        param.requires_grad = False


def norms_to_eval(module: nn.Module) -> None:
    """Eval mode for every BN under ``module`` (ACON generators' BNs included)."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()


class FreezeWhenBuilt:
    """Mixin of the backbones: ``self._freeze_stages()`` runs when the outermost
    ``__init__`` returns, i.e. once every parameter exists, whatever a constructor adds
    after its base's ``__init__`` (ACON modules, conv biases, a subclass's layers).

    Until then :attr:`under_construction` is true and ``_freeze_stages`` must do nothing:
    upstream's ``ResNet.__init__`` calls it before our constructor adds the conv biases,
    which would leave them trainable until the first ``train()``, and by then DDP has
    registered them as parameters expecting a gradient.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get('__init__')
        if init is not None:
            cls.__init__ = _freeze_after(init)

    @property
    def under_construction(self) -> bool:
        """True while any ``__init__`` of this object is still running."""
        return vars(self).get('_init_depth', 0) > 0


def _freeze_after(init):
    @functools.wraps(init)
    def __init__(self, *args, **kwargs) -> None:
        state = vars(self)
        depth = state.get('_init_depth', 0)
        state['_init_depth'] = depth + 1
        try:
            init(self, *args, **kwargs)
        finally:
            state['_init_depth'] = depth
        if depth == 0:
            del state['_init_depth']
            self._freeze_stages()

    return __init__
