"""What the ACON backbones share: frozen stages and ``norm_eval`` (:func:`freeze`,
:func:`norms_to_eval`, :class:`FreezeWhenBuilt`), the blocks' activation checkpointing
(:func:`maybe_checkpoint`), and the base of the light backbones, a stem and a list of
stages (:class:`StagedBackbone`). The ResNet family keeps upstream's ``ResNet`` as its
base and takes the first two from here."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.utils.checkpoint
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ._arg_checks import check_frozen_stages, check_out_indices


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


def maybe_checkpoint(fn: Callable[[Tensor], Tensor], x: Tensor, with_cp: bool) -> Tensor:
    """``fn(x)``, under non-reentrant activation checkpointing when ``with_cp`` and grads on.

    Non-reentrant checkpointing also recomputes blocks whose input needs no gradient
    (a frozen stem), which upstream's reentrant ``x.requires_grad`` test skips.
    """
    if with_cp and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(fn, x, use_reentrant=False)
    return fn(x)


def split_stages(blocks: Sequence[nn.Module], repeats: Sequence[int]) -> list[list[nn.Module]]:
    """Cut ``blocks`` into consecutive stages of ``repeats[i]`` blocks each."""
    if sum(repeats) != len(blocks):
        raise ValueError(f'split_stages: {len(blocks)} blocks do not make stages of '
                         f'{tuple(repeats)} blocks')
    stages, start = [], 0
    for count in repeats:
        stages.append(list(blocks[start:start + count]))
        start += count
    return stages


class StagedBackbone(FreezeWhenBuilt, BaseModule):
    """Stem + stages, with ``out_indices``, ``frozen_stages`` and ``norm_eval``.

    Subclasses build their layers, then call :meth:`_setup`, and implement :meth:`stem`
    and :meth:`stages` (each stage a list of modules applied in order).

    ``out_indices``: which stage outputs to return (negative ones count from the end).
    ``frozen_stages``: -1 freezes nothing, 0 the stem, k the stem and the first k stages
    (parameters stop their gradients, norms stay in eval mode), applied when construction
    ends (:class:`FreezeWhenBuilt`).
    ``norm_eval``: every BN in eval mode during training (ACON generators' BNs included).
    ``init_cfg``: None gives Kaiming convs and unit-weight norms.
    """

    def __init__(self, init_cfg: dict | list | None = None) -> None:
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg)

    def _setup(self, out_indices: Sequence[int], frozen_stages: int, norm_eval: bool,
               max_frozen: int | None = None) -> None:
        """Check and store the arguments; ``max_frozen`` defaults to the stage count."""
        name = type(self).__name__
        num_stages = len(self.stages())
        self.out_indices = check_out_indices(name, out_indices, num_stages)
        self.frozen_stages = check_frozen_stages(
            name, frozen_stages, num_stages if max_frozen is None else max_frozen)
        self.norm_eval = norm_eval

    def stem(self) -> list[nn.Module]:
        raise NotImplementedError

    def stages(self) -> list[list[nn.Module]]:
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        if self.under_construction:
            return
        if self.frozen_stages >= 0:
            for m in self.stem():
                freeze(m)
        for stage in self.stages()[:max(self.frozen_stages, 0)]:
            for m in stage:
                freeze(m)

    def train(self, mode: bool = True) -> 'StagedBackbone':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            norms_to_eval(self)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """(N, 3, H, W) -> tuple of stage outputs for ``out_indices``."""
        for m in self.stem():
            x = m(x)
        outs = []
        last = max(self.out_indices)
        for i, stage in enumerate(self.stages()[:last + 1]):
            for m in stage:
                x = m(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
