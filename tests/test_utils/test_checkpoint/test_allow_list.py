"""The weights_only allow-list: exactly mmengine's checkpoint types, added only when asked."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmacon.utils.checkpoint import SAFE_GLOBALS, history_buffer_getattr, register_safe_globals
from tests.test_utils.test_checkpoint.helpers import Payload, save, training_checkpoint

_NAMES = {
    'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr',
    'numpy._core.multiarray._reconstruct', 'numpy.core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar', 'numpy.core.multiarray.scalar',
    'numpy.ndarray', 'numpy.dtype', 'numpy.dtypes.Float64DType', 'numpy.dtypes.Int64DType'}


def test_the_allow_list_is_exactly_mmengines_types():
    assert {name for _, name in SAFE_GLOBALS} == _NAMES


def test_import_does_not_widen_and_register_widens_by_exactly_these():
    code = (
        'import torch, mmacon, mmacon.utils, mmacon.utils.checkpoint as c\n'
        'before = list(torch.serialization.get_safe_globals())\n'
        'c.register_safe_globals(); c.register_safe_globals()\n'
        'after = torch.serialization.get_safe_globals()\n'
        'added = [e for e in after if e not in before]\n'
        'print(sum(e in before for e in c.SAFE_GLOBALS), len(added),\n'
        '      all(e in added for e in c.SAFE_GLOBALS))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env={**os.environ, 'PYTHONWARNINGS': 'ignore'}, check=True)
    assert out.stdout.split() == ['0', str(len(SAFE_GLOBALS)), 'True']


def test_weights_only_is_still_the_default(tmp_path):
    register_safe_globals()
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    path = save({'x': Payload()}, tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # no weights_only argument: the torch default


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    register_safe_globals()
    path = save(training_checkpoint(), tmp_path)
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx((1 + 0.5 + 1 / 3) / 3)
    assert buf.statistics('min') == pytest.approx(1 / 3)
    assert loaded['message_hub']['runtime_info']['best_score'] == 0.5
    # the same through mmengine's loader (what Runner.resume calls)
    from mmengine.runner.checkpoint import _load_checkpoint
    assert _load_checkpoint(str(path), map_location='cpu')['meta']['iter'] == 3


@pytest.mark.parametrize('payload', [Payload(), [Payload()], {'x': Payload}],
                         ids=['instance', 'nested-instance', 'class'])
def test_other_objects_still_refused(tmp_path, payload):
    register_safe_globals()
    ckpt = dict(training_checkpoint(), meta=dict(extra=payload))
    path = save(ckpt, tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu', weights_only=True)
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')


class _EvilReduce:
    """Pickles as a call to os.system."""

    def __reduce__(self):
        return os.system, ('true',)


class _GetattrAbuse:
    """Pickles as getattr(HistoryBuffer, '__init__') (not a statistics method)."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


class _GetattrOther:
    """Pickles as getattr(<allowed numpy class>, 'tofile')."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


@pytest.mark.parametrize('payload', [_EvilReduce(), _GetattrAbuse(), _GetattrOther()],
                         ids=['os.system', 'getattr-dunder', 'getattr-other-class'])
def test_code_paths_refused(tmp_path, payload):
    register_safe_globals()
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'x': payload}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_history_buffer_getattr():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for name in ('min', 'max', 'current'):
        assert history_buffer_getattr(HistoryBuffer, name) is getattr(HistoryBuffer, name)
    for obj, name in ((HistoryBuffer, '__init__'), (HistoryBuffer, 'update'),
                      (HistoryBuffer, '_set_default_statistics'), (np.ndarray, 'min'),
                      (HistoryBuffer(), 'min'), (HistoryBuffer, 'no_such')):
        with pytest.raises(pickle.UnpicklingError):
            history_buffer_getattr(obj, name)
