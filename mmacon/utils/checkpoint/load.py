"""Checkpoint loaders of the tools, all through ``torch.load(weights_only=True)``:
:func:`load_checkpoint_file`, :func:`load_state_dict_file` (unwrap ``state_dict`` /
``model``, strip ``module.``) and :func:`load_into` (one error listing missing /
unexpected / mis-shaped keys).
"""
from __future__ import annotations

import pickle
import re
from collections import OrderedDict
from typing import Iterable

import torch

from .allow_list import register_safe_globals
from .scan import CheckpointError, check_checkpoint_file, error_summary, unsafe_error

# Keys under which checkpoints wrap their state dict, looked for in this order.
WRAPPER_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema', 'net')


def load_checkpoint_file(path: str, what: str = 'checkpoint') -> object:
    """:func:`check_checkpoint_file`, then ``torch.load(path, weights_only=True)`` on CPU;
    every failure is one :class:`CheckpointError` naming the file. Registers
    :data:`~.allow_list.SAFE_GLOBALS` first, so an mmengine training checkpoint loads."""
    path = check_checkpoint_file(path, what)
    register_safe_globals()
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:  # a global the static scan could not see
        found = re.findall(r'GLOBAL ([\w.]+)', str(err))
        raise unsafe_error(what, path, found or ['objects outside the allow-list']) \
            from None
    except Exception as err:  # noqa: BLE001 - corrupt storage records and the like
        raise CheckpointError(f'cannot read {what} {path} (truncated or corrupt?): '
                              f'{error_summary(err)}') from None


def unwrap_state_dict(ckpt: object, path: str = 'checkpoint') -> 'OrderedDict[str, torch.Tensor]':
    """Return the tensor mapping inside ``{'state_dict': ...}`` / ``{'model': ...}`` wrappers.

    Non-tensor entries (e.g. ``num_batches_tracked`` saved as ints by old code) are an
    error, so that a wrong wrapper is caught rather than silently half-loaded.
    """
    seen = []
    while isinstance(ckpt, dict):
        key = next((k for k in WRAPPER_KEYS if isinstance(ckpt.get(k), dict)), None)
        if key is None:
            break
        seen.append(key)
        ckpt = ckpt[key]
    if not isinstance(ckpt, dict) or not ckpt:
        raise CheckpointError(
            f'{path} does not hold a state dict: got {type(ckpt).__name__}'
            + (' (empty)' if isinstance(ckpt, dict) else '')
            + (f' under {"/".join(seen)}' if seen else ''))
    bad = [k for k, v in ckpt.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f'{path} does not look like a state dict'
            + (f' (under {"/".join(seen)})' if seen else '')
            + f': {len(bad)} entries are not tensors, e.g. {bad[:5]}; expected a mapping '
            f'of parameter names to tensors, optionally wrapped as {{"state_dict": ...}} '
            f'or {{"model": ...}}')
    return OrderedDict((str(k), v) for k, v in ckpt.items())


def strip_prefixes(state_dict: dict, prefixes: Iterable[str] = ('module.', )) -> OrderedDict:
    """Remove a leading prefix from every key that has it, repeatedly (``module.module.``)."""
    out = OrderedDict()
    prefixes = tuple(prefixes)
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in prefixes:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def select_prefix(state_dict: dict, prefix: str) -> OrderedDict:
    """Keys under ``prefix`` (e.g. ``'backbone.'``) with it removed; empty if none."""
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def load_state_dict_file(path: str) -> OrderedDict:
    """Load, unwrap and strip ``module.`` from a checkpoint file."""
    return strip_prefixes(unwrap_state_dict(load_checkpoint_file(path), path))


def load_into(module: torch.nn.Module, state_dict: dict, what: str = 'model',
              strict: bool = True) -> None:
    """``load_state_dict`` that names missing / unexpected / mis-shaped keys in one error."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shape = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs {what} {tuple(own[k].shape)}'
             for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    # BN's num_batches_tracked is filled in by BN itself when absent.
    missing_real = [k for k in missing if not k.endswith('num_batches_tracked')]
    if shape or (strict and (missing_real or unexpected)):
        lines = [f'checkpoint does not fit the {what}:']
        if missing_real:
            lines.append(f'  missing ({len(missing_real)}): {_abbrev(missing_real)}')
        if unexpected:
            lines.append(f'  unexpected ({len(unexpected)}): {_abbrev(unexpected)}')
        if shape:
            lines.append(f'  shape mismatch ({len(shape)}): {_abbrev(shape)}')
        raise CheckpointError('\n'.join(lines))
    module.load_state_dict({k: v for k, v in state_dict.items() if k in own}, strict=False)


def _abbrev(items: list, n: int = 8) -> str:
    return ', '.join(items[:n]) + (f', ... (+{len(items) - n} more)' if len(items) > n else '')
