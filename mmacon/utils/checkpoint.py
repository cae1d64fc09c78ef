"""Checkpoint files under ``torch.load(weights_only=True)``: allow-list, checks, loaders.

One module for every mmacon tool and for ``tools/train.py`` / ``tools/test.py``:

* **Allow-list.** mmengine 0.10.7's training checkpoints hold, besides tensors, the
  message hub (``HistoryBuffer`` objects with numpy arrays and scalars). A
  ``HistoryBuffer``'s state also carries its statistics methods (``HistoryBuffer.min``
  ...), which pickle protocol 2 writes as ``getattr(HistoryBuffer, 'min')``. Found by
  resuming mmdet and mmseg runs and reading
  ``torch.serialization.get_unsafe_globals_in_checkpoint``:
  ``mmengine.logging.history_buffer.HistoryBuffer``; ``numpy._core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype`` (arrays), ``numpy._core.multiarray.scalar`` (scalars),
  ``numpy.dtypes.Float64DType`` / ``Int64DType``; ``builtins.getattr``, mapped to
  :func:`history_buffer_getattr`, which only returns ``HistoryBuffer``'s statistics
  functions. Only these are allow-listed (plus the ``numpy.core`` spellings numpy 1.x
  writes), when ``mmacon`` is imported; anything else is still refused by torch.
* **Checks without unpickling.** :func:`check_checkpoint_file` tells a missing, empty,
  truncated, non-PyTorch or code-carrying file apart by reading its bytes and the names of
  its pickled globals (``get_unsafe_globals_in_checkpoint`` for zip archives, a
  ``pickletools`` scan for legacy / raw pickles), and raises one :class:`CheckpointError`
  that names the file and what is wrong. Nothing in this module falls back to, or
  suggests, ``weights_only=False``.
* **Loaders** for the tools: :func:`load_checkpoint_file`, :func:`load_state_dict_file`
  (unwrap ``state_dict`` / ``model``, strip ``module.``) and :func:`load_into` (one error
  listing missing / unexpected / mis-shaped keys).
"""
from __future__ import annotations

import inspect
import os
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from collections import OrderedDict
from pickle import UnpicklingError
from typing import Any, Iterable, List, Set, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray


# HistoryBuffer's default statistics methods (HistoryBuffer._set_default_statistics)
_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer.<statistics method>``.

    A pickled ``HistoryBuffer`` state refers to its statistics functions as
    ``getattr(HistoryBuffer, 'min')``; every other use is rejected.
    """
    if (obj is not HistoryBuffer or not isinstance(name, str)
            or name not in _STATISTICS + tuple(HistoryBuffer._statistics_methods)):
        raise UnpicklingError(
            f'mmacon safe globals: getattr({obj!r}, {name!r}) is not allowed; only '
            'HistoryBuffer statistics methods may be loaded')
    attr = inspect.getattr_static(HistoryBuffer, name, None)
    if not inspect.isfunction(attr):
        raise UnpicklingError(
            f'mmacon safe globals: HistoryBuffer.{name} is not a statistics method')
    return attr


def _numpy_entries() -> List[Tuple[Any, str]]:
    entries = []
    for obj, name in ((_multiarray._reconstruct, '_reconstruct'),
                      (_multiarray.scalar, 'scalar')):
        for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
            entries.append((obj, f'{module}.{name}'))
    entries += [(np.ndarray, 'numpy.ndarray'), (np.dtype, 'numpy.dtype')]
    # the dtypes of HistoryBuffer's log (float64) and count (int64) arrays and
    # of the float64 scalars; numpy >= 1.25 builds dtypes as these classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        entries += [(dtypes.Float64DType, 'numpy.dtypes.Float64DType'),
                    (dtypes.Int64DType, 'numpy.dtypes.Int64DType')]
    return entries


SAFE_GLOBALS: List[Tuple[Any, str]] = [
    (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (history_buffer_getattr, 'builtins.getattr'),
] + _numpy_entries()


def register_safe_globals() -> List[Tuple[Any, str]]:
    """Add :data:`SAFE_GLOBALS` to torch's ``weights_only`` allow-list (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no allow-list (and loads unrestricted)
        add(SAFE_GLOBALS)
    return SAFE_GLOBALS


# importing mmacon (or this module) is enough: mmacon/__init__.py imports it
register_safe_globals()


# ----------------------------------------------------------------------------- checks
# Keys under which checkpoints wrap their state dict, looked for in this order.
WRAPPER_KEYS = ('state_dict', 'model', 'state_dict_ema', 'model_ema', 'net')
_REDOWNLOAD = 'an interrupted download or copy? Download or convert it again'
# torch.save's legacy (non-zip) format starts with this number, pickled.
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, unreadable, refused or not a state dict."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A local checkpoint path that does not exist."""


def _allowed_global_names() -> Set[str]:
    # what torch.load(weights_only=True) accepts: torch's defaults and the user
    # allow-list (the same sets get_unsafe_globals_in_checkpoint compares against)
    from torch import _weights_only_unpickler as wou
    return set(wou._get_allowed_globals()) | set(wou._get_user_allowed_globals())


def _pickle_globals(f) -> Tuple[Set[str], List[Any]]:
    """Names of the globals one pickle in ``f`` refers to, and its top-level constants,
    read with ``pickletools`` (opcodes only: nothing is unpickled or run)."""
    names, memo, recent = set(), {}, []
    for opcode, arg, _ in pickletools.genops(f):
        name = opcode.name
        if name in ('GLOBAL', 'INST'):
            names.add(arg.replace(' ', '.'))
        elif name == 'STACK_GLOBAL':
            if len(recent) >= 2:
                names.add(f'{recent[-2]}.{recent[-1]}')
        elif name == 'MEMOIZE':
            memo[len(memo)] = recent[-1] if recent else None
        elif name in ('BINPUT', 'LONG_BINPUT', 'PUT'):
            memo[arg] = recent[-1] if recent else None
        elif name in ('BINGET', 'LONG_BINGET', 'GET'):
            recent.append(memo.get(arg))
        elif isinstance(arg, (str, int)) and name != 'PROTO':
            recent.append(arg)
        if name == 'STOP':
            break
    return names, recent[-1:]


def _legacy_globals(path: str) -> Tuple[Set[str], bool]:
    """(globals, written by torch.save) of a non-zip pickle file."""
    names = set()
    with open(path, 'rb') as f:
        first, values = _pickle_globals(f)
        names |= first
        is_torch = values == [_LEGACY_MAGIC]
        if is_torch:  # protocol version, system info, then the object itself
            for _ in range(3):
                names |= _pickle_globals(f)[0]
    return names, is_torch


def _refuse_unsafe(what: str, path: str, names: Iterable[str]) -> CheckpointError:
    listed = ', '.join(sorted(names))
    return CheckpointError(
        f'refusing to load {what} {path}: it pickles {listed} (not tensors, plain '
        'containers or mmengine checkpoint types); unpickling that would run code from '
        'the file. mmacon loads checkpoints with torch.load(weights_only=True) only; '
        'use a checkpoint that holds tensors only (the official release, a converted or a '
        'training checkpoint)')


def check_checkpoint_file(path: str, what: str = 'checkpoint') -> str:
    """Raise :class:`CheckpointError` naming ``path`` and the fault unless ``path`` is a
    ``torch.save`` file that ``torch.load(weights_only=True)`` accepts.

    Reads only bytes and pickled global names: no pickle is run and no tensor is loaded,
    so it is cheap even for large files. Returns the absolute path.
    """
    path = osp.abspath(os.fspath(path))
    if not osp.exists(path):
        raise CheckpointNotFoundError(f'{what} not found: {path}')
    if osp.isdir(path):
        raise CheckpointError(f'{what} is a directory, not a file: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'{what} {path} is empty (0 bytes): {_REDOWNLOAD}')
    with open(path, 'rb') as f:
        head = f.read(16)
    if head.startswith(b'PK\x03\x04'):  # torch.save's zip format
        if not zipfile.is_zipfile(path):
            raise CheckpointError(
                f'{what} {path} is a truncated or corrupt zip archive ({size} bytes, no '
                f'zip directory at its end): {_REDOWNLOAD}')
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except ValueError as err:  # a TorchScript archive
            raise CheckpointError(f'{what} {path} cannot be loaded: {err}') from None
        except (RuntimeError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise CheckpointError(
                f'{what} {path} is a zip archive but not a readable torch.save checkpoint '
                f'({_first_line(err)}): {_REDOWNLOAD}') from None
        if unsafe:
            raise _refuse_unsafe(what, path, unsafe)
        return path
    if head[:1] != b'\x80':  # pickle protocol >= 2 (torch.save writes 2)
        raise CheckpointError(
            f'{what} {path} is not a PyTorch checkpoint: neither a torch.save zip archive '
            f'nor a pickle (it starts with {head!r})')
    try:
        names, is_torch = _legacy_globals(path)
    except (ValueError, EOFError) as err:
        raise CheckpointError(
            f'{what} {path} is a truncated or corrupt pickle ({_first_line(err)}): '
            f'{_REDOWNLOAD}') from None
    unsafe = names - _allowed_global_names()
    if unsafe:
        raise _refuse_unsafe(what, path, unsafe)
    if not is_torch:
        raise CheckpointError(f'{what} {path} is a pickle but not a PyTorch checkpoint '
                              '(not written by torch.save)')
    return path


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f'{type(err).__name__}: {text.splitlines()[0]}' if text else type(err).__name__


# ----------------------------------------------------------------------------- loaders
def load_checkpoint_file(path: str, what: str = 'checkpoint') -> object:
    """:func:`check_checkpoint_file`, then ``torch.load(path, weights_only=True)`` on CPU;
    every failure is one :class:`CheckpointError` naming the file."""
    path = check_checkpoint_file(path, what)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:  # a global the static scan could not see
        found = re.findall(r'GLOBAL ([\w.]+)', str(err))
        raise _refuse_unsafe(what, path, found or ['objects outside the allow-list']) \
            from None
    except Exception as err:  # noqa: BLE001 - corrupt storage records and the like
        raise CheckpointError(f'cannot read {what} {path} (truncated or corrupt?): '
                              f'{_first_line(err)}') from None


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
