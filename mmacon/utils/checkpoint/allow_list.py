"""The exact types an mmengine training checkpoint needs beyond torch's own
``weights_only`` allow-list, and the one function that adds them to it.

mmengine 0.10.7's training checkpoints hold, besides tensors, the message hub
(``HistoryBuffer`` objects with numpy arrays and scalars). A ``HistoryBuffer``'s state
also carries its statistics methods (``HistoryBuffer.min`` ...), which pickle protocol 2
writes as ``getattr(HistoryBuffer, 'min')``. Found by resuming mmdet and mmseg runs and
reading ``torch.serialization.get_unsafe_globals_in_checkpoint``:
``mmengine.logging.history_buffer.HistoryBuffer``; ``numpy._core.multiarray._reconstruct``,
``numpy.ndarray``, ``numpy.dtype`` (arrays), ``numpy._core.multiarray.scalar`` (scalars),
``numpy.dtypes.Float64DType`` / ``Int64DType``; ``builtins.getattr``, mapped to
:func:`history_buffer_getattr`, which only returns ``HistoryBuffer``'s statistics
functions. Only these are allow-listed (plus the ``numpy.core`` spellings numpy 1.x
writes), and only by :func:`register_safe_globals`; anything else is still refused by
torch.
"""
from __future__ import annotations

import inspect
from pickle import UnpicklingError
from typing import Any, List, Tuple

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


SAFE_GLOBAL_NAMES = frozenset(name for _, name in SAFE_GLOBALS)


def register_safe_globals() -> List[Tuple[Any, str]]:
    """Add :data:`SAFE_GLOBALS` to torch's process-wide ``weights_only`` allow-list.

    Idempotent. Its ``add_safe_globals`` line is the one place in mmacon that widens
    what ``torch.load(weights_only=True)`` accepts, and importing mmacon does not run
    it: :func:`mmacon.utils.checkpoint.load_checkpoint_file` does, before it loads, and
    so do ``tools/train.py`` and ``tools/test.py`` (mmengine's Runner loads the
    ``load_from`` / ``--resume`` / ``init_cfg`` checkpoints there). A script of your own
    that hands an mmengine training checkpoint to upstream code (``init_detector``,
    ``init_model``, ``Runner.resume``) calls it first.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no allow-list (and loads unrestricted)
        add(SAFE_GLOBALS)
    return SAFE_GLOBALS
