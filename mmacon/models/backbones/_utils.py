"""Helpers shared by the ACON backbones: building activations, conv biases, freezing."""
from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
import torch.utils.checkpoint
from mmengine.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def check_act_cfg(owner: str, act_cfg: dict | None,
                  plain: Sequence[str] = ('ReLU', )) -> dict | None:
    """Validate ``act_cfg``; return ``None`` for "keep the plain activation".

    ``None`` and a type in ``plain`` (the backbone's own activation) mean no replacement.
    Any other type must be registered in mmengine's root ``MODELS`` (``AconC``,
    ``MetaAconC``, ``AconFReLU``, or a parameter-free one such as ``SiLU`` for Swish).
    """
    if act_cfg is None:
        return None
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise TypeError(f'{owner}: act_cfg must be None or a dict with a "type" key, '
                        f'got {act_cfg!r}')
    act_type = act_cfg['type']
    if isinstance(act_type, str):
        if act_type in plain:
            return None
        if MODELS.get(act_type) is None:
            raise KeyError(f'{owner}: unknown activation type {act_type!r} in act_cfg '
                           f'{act_cfg!r}; it is not registered in mmengine\'s MODELS '
                           f'(did you import mmacon?)')
    elif not callable(act_type):
        raise TypeError(f'{owner}: act_cfg type must be a registered name or a class, '
                        f'got {act_type!r}')
    return dict(act_cfg)


def build_act(act_cfg: dict, channels: int, defaults: dict | None = None) -> nn.Module:
    """Build an activation from ``act_cfg``, filling ``channels`` when it takes them.

    ``defaults`` (e.g. ``reduction``) are used where the class takes them and ``act_cfg``
    does not set them.
    """
    cfg = dict(act_cfg)
    act_type = cfg['type']
    cls = MODELS.get(act_type) if isinstance(act_type, str) else act_type
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        params = {}
    for key, value in dict(defaults or {}, channels=channels).items():
        if key in params:
            cfg.setdefault(key, value)
    return MODELS.build(cfg)


def check_choice(owner: str, name: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise ValueError(f'{owner}: {name} must be one of {tuple(choices)}, got {value!r}')


def check_out_indices(owner: str, out_indices: Sequence[int], num_outputs: int) -> tuple:
    """Each index must lie in ``[0, num_outputs)``; negative ones count from the end."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    if len(out_indices) == 0:
        raise ValueError(f'{owner}: out_indices must not be empty')
    result = []
    for index in out_indices:
        if isinstance(index, bool) or not isinstance(index, int) or \
                not -num_outputs <= index < num_outputs:
            raise ValueError(f'{owner}: out_indices {tuple(out_indices)!r} contains {index!r}, '
                             f'valid indices are 0..{num_outputs - 1} ({num_outputs} outputs)')
        result.append(index % num_outputs)
    return tuple(result)


def add_conv_biases(module: nn.Module) -> int:
    """Give every bias-free convolution under ``module`` a zero-initialised bias.

    The official ACON checkpoints have a bias on every convolution. Adding the parameter
    after construction keeps whichever conv type ``conv_cfg`` chose; ``weight`` and
    ``bias`` keep their usual order in the state dict. Returns the number of convs changed.
    """
    count = 0
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvNd) and m.bias is None:
            m.bias = nn.Parameter(torch.zeros(m.out_channels, device=m.weight.device,
                                              dtype=m.weight.dtype))
            count += 1
    return count


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


def maybe_checkpoint(fn, x, with_cp: bool):
    """``fn(x)``, under non-reentrant activation checkpointing when ``with_cp`` and grads on."""
    if with_cp and torch.is_grad_enabled():
        return torch.utils.checkpoint.checkpoint(fn, x, use_reentrant=False)
    return fn(x)
