"""What Meta-ACON's fused nodes share, whatever their device (:mod:`.cpu_meta_acon`,
:mod:`.triton_meta_acon`): when a call must stay on the module path, and the generator
BatchNorms' arguments as torch's BN forward takes them.

A fused node runs the generator itself, so it cannot serve a call that something outside
it must see: tracing, scripting, compiling and export; a TorchDispatchMode (a FLOP
counter); hooks on the generator's modules or global module hooks, which the module
path calls; a norm other than ``BatchNorm2d`` / ``Identity`` or a conv other than
``nn.Conv2d`` (exact types: a subclass may change forward); an ``x`` that is neither
contiguous nor channels_last.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn
from torch.nn.modules import module as _module

NORMS = (nn.BatchNorm2d, nn.Identity)


def _hooked(m: nn.Module) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                or m._backward_pre_hooks)


def _global_hooks() -> bool:
    return bool(_module._global_forward_hooks or _module._global_forward_pre_hooks
                or _module._global_backward_hooks or _module._global_backward_pre_hooks)


def module_path_reason(x: Tensor, fc1: nn.Module, bn1: nn.Module, fc2: nn.Module,
                       bn2: nn.Module) -> Optional[str]:
    """Why this call must take the module path whatever the node (None: a node may take
    it, as far as these checks go; each node then checks its devices and dtypes)."""
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
        return 'tracing, scripting, compiling and export see the module path'
    if torch._C._len_torch_dispatch_stack():
        return 'a TorchDispatchMode is active (e.g. a FLOP counter): it sees the module path'
    if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        return 'x is neither contiguous nor channels_last'
    for name, norm in (('bn1', bn1), ('bn2', bn2)):
        if type(norm) not in NORMS:
            return (f'{name} is a {type(norm).__name__}; the fused generator takes BatchNorm2d '
                    'or no norm')
        if _hooked(norm):
            return f'{name} has hooks, which the module path calls'
    for name, fc in (('fc1', fc1), ('fc2', fc2)):
        if type(fc) is not nn.Conv2d or 'weight' not in fc._parameters:
            return (f'{name} is a {type(fc).__name__} without a plain weight parameter; the '
                    'fused generator takes an nn.Conv2d')
        if _hooked(fc):
            return f'{name} has hooks, which the module path calls'
    if _global_hooks():
        return 'global module hooks are registered, which the module path calls'
    return None


def norm_args(norm: nn.Module, running: bool) -> tuple:
    """(mode, eps, factor, weight, bias, running_mean, running_var) as torch's BN forward.

    mode 0: identity, 1: batch statistics (updating the running ones when passed),
    2: running statistics. weight/bias are None without affine. ``running``: use the
    running statistics in training, without updating them (MetaAconC's fallback for
    one value per channel).
    """
    if type(norm) is nn.Identity:
        return 0, 0.0, 0.0, None, None, None, None
    params, buffers = norm._parameters, norm._buffers
    rm, rv = buffers.get('running_mean'), buffers.get('running_var')
    g, e = (params.get('weight'), params.get('bias')) if norm.affine else (None, None)
    if running:
        return 2, norm.eps, 0.0, g, e, rm, rv
    momentum = norm.momentum
    factor = 0.0 if momentum is None else momentum
    training = norm.training
    if training and norm.track_running_stats:
        nbt = buffers.get('num_batches_tracked')
        if nbt is not None:
            nbt.add_(1)
            if momentum is None:
                factor = 1.0 / float(nbt)
    if not (training or (rm is None and rv is None)):
        return 2, norm.eps, 0.0, g, e, rm, rv
    if training and not norm.track_running_stats:
        rm = rv = None  # torch passes no running statistics then
    return 1, norm.eps, factor, g, e, rm, rv
