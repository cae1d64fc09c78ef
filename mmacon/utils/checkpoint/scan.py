"""Checks of a checkpoint file that run no pickle.

:func:`check_checkpoint_file` tells a missing, empty, truncated, non-PyTorch or
code-carrying file apart by reading its bytes and the names of its pickled globals
(``get_unsafe_globals_in_checkpoint`` for zip archives, a ``pickletools`` scan for legacy /
raw pickles), and raises one :class:`CheckpointError` that names the file and what is
wrong. A file passes when ``torch.load(weights_only=True)`` accepts it once
:data:`~.allow_list.SAFE_GLOBALS` are registered, as mmacon's loaders and tools do.
Nothing here falls back to, or suggests, ``weights_only=False``.
"""
from __future__ import annotations

import os
import os.path as osp
import pickletools
import zipfile
from typing import Any, Iterable, List, Set, Tuple

import torch

from .allow_list import SAFE_GLOBAL_NAMES

_REDOWNLOAD = 'an interrupted download or copy? Download or convert it again'
# torch.save's legacy (non-zip) format starts with this number, pickled.
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, unreadable, refused or not a state dict."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A local checkpoint path that does not exist."""


def _allowed_global_names() -> Set[str]:
    # what mmacon's loaders accept: torch's defaults, the user allow-list (the sets
    # get_unsafe_globals_in_checkpoint compares against) and SAFE_GLOBALS, which the
    # loaders register before they load
    from torch import _weights_only_unpickler as wou
    return (set(wou._get_allowed_globals()) | set(wou._get_user_allowed_globals())
            | SAFE_GLOBAL_NAMES)


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


def unsafe_error(what: str, path: str, names: Iterable[str]) -> CheckpointError:
    """The error that refuses ``path`` for pickling ``names``."""
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
            unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except ValueError as err:  # a TorchScript archive
            raise CheckpointError(f'{what} {path} cannot be loaded: {err}') from None
        except (RuntimeError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise CheckpointError(
                f'{what} {path} is a zip archive but not a readable torch.save checkpoint '
                f'({error_summary(err)}): {_REDOWNLOAD}') from None
        unsafe -= SAFE_GLOBAL_NAMES
        if unsafe:
            raise unsafe_error(what, path, unsafe)
        return path
    if head[:1] != b'\x80':  # pickle protocol >= 2 (torch.save writes 2)
        raise CheckpointError(
            f'{what} {path} is not a PyTorch checkpoint: neither a torch.save zip archive '
            f'nor a pickle (it starts with {head!r})')
    try:
        names, is_torch = _legacy_globals(path)
    except (ValueError, EOFError) as err:
        raise CheckpointError(
            f'{what} {path} is a truncated or corrupt pickle ({error_summary(err)}): '
            f'{_REDOWNLOAD}') from None
    unsafe = names - _allowed_global_names()
    if unsafe:
        raise unsafe_error(what, path, unsafe)
    if not is_torch:
        raise CheckpointError(f'{what} {path} is a pickle but not a PyTorch checkpoint '
                              '(not written by torch.save)')
    return path


def error_summary(err: BaseException) -> str:
    """``Type: first line of the message`` of ``err``."""
    text = str(err).strip()
    return f'{type(err).__name__}: {text.splitlines()[0]}' if text else type(err).__name__
