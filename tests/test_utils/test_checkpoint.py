"""torch>=2.6 weights_only loading of mmengine checkpoints with mmacon's safe globals."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmacon  # noqa: F401  (registers the safe globals)
from mmacon.utils import SAFE_GLOBALS
from mmacon.utils.checkpoint import history_buffer_getattr


class Payload:
    """Any class not on the allow-list."""

    def __init__(self):
        self.value = 1


def _message_hub_state():
    hub = MessageHub.get_instance('mmacon-test-safe-globals')
    for i in range(3):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
        hub.update_scalar('train/lr', 0.01)
    hub.update_scalar('coco/bbox_mAP', np.float64(0.25))
    hub.update_info('best_score', np.float64(0.5))
    hub.update_info('iter', 3)
    return hub.state_dict()


def _save(obj, tmp_path, name='ckpt.pth'):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def test_safe_globals_registered():
    names = {name for _, name in SAFE_GLOBALS}
    assert names == {
        'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr',
        'numpy._core.multiarray._reconstruct', 'numpy.core.multiarray._reconstruct',
        'numpy._core.multiarray.scalar', 'numpy.core.multiarray.scalar',
        'numpy.ndarray', 'numpy.dtype', 'numpy.dtypes.Float64DType',
        'numpy.dtypes.Int64DType'}
    registered = torch.serialization.get_safe_globals()
    for entry in SAFE_GLOBALS:
        assert entry in registered


def test_weights_only_is_still_the_default(tmp_path):
    import os
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    path = _save({'x': Payload()}, tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # no weights_only argument: the torch default


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    ckpt = dict(meta=dict(iter=3, epoch=0, seed=1, mmengine_version='0.10.7'),
                state_dict={'w': torch.ones(2)}, message_hub=_message_hub_state(),
                optimizer={'state': {}, 'param_groups': [{'lr': 0.01}]})
    path = _save(ckpt, tmp_path)
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
    ckpt = dict(state_dict={'w': torch.ones(2)}, message_hub=_message_hub_state(),
                meta=dict(extra=payload))
    path = _save(ckpt, tmp_path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu', weights_only=True)
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')


class _EvilReduce:
    """Pickles as a call to os.system."""

    def __reduce__(self):
        import os
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


# ----------------------------------------------------------------------------- checks
from mmacon.utils.checkpoint import (CheckpointError, CheckpointNotFoundError,  # noqa: E402
                                     check_checkpoint_file, load_checkpoint_file,
                                     load_state_dict_file, strip_prefixes, unwrap_state_dict)


def test_check_accepts_zip_legacy_and_training_checkpoints(tmp_path):
    zip_path = _save({'state_dict': {'w': torch.ones(2)}}, tmp_path, 'zip.pth')
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    run = _save(dict(state_dict={'w': torch.ones(2)}, message_hub=_message_hub_state()),
                tmp_path, 'run.pth')
    for path in (zip_path, legacy, run):
        assert check_checkpoint_file(path) == str(path)
    assert torch.equal(load_checkpoint_file(legacy)['w'], torch.ones(2))


@pytest.mark.parametrize('fmt', ['zip', 'legacy'])
def test_check_names_pickled_code_without_running_it(tmp_path, fmt):
    marker = tmp_path / 'ran'

    class Touch:
        def __reduce__(self):
            import os
            return os.system, (f'touch {marker}', )

    path = tmp_path / 'evil.pth'
    torch.save({'w': torch.ones(1), 'x': Touch()}, path,
               _use_new_zipfile_serialization=fmt == 'zip')
    with pytest.raises(CheckpointError) as err:
        check_checkpoint_file(path, 'load_from checkpoint')
    assert str(err.value).startswith(f'refusing to load load_from checkpoint {path}: it '
                                     'pickles posix.system')
    assert 'weights_only=False' not in str(err.value)
    with pytest.raises(CheckpointError, match='pickles posix.system'):
        load_checkpoint_file(path)
    assert not marker.exists()


def test_check_faults(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='checkpoint not found: '):
        check_checkpoint_file(tmp_path / 'none.pth')
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)
    with pytest.raises(CheckpointError, match='is a directory'):
        check_checkpoint_file(tmp_path)
    import zipfile
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as z:
        z.writestr('readme.txt', 'hi')
    with pytest.raises(CheckpointError, match='is a zip archive but not a readable '
                       'torch.save checkpoint'):
        check_checkpoint_file(tmp_path / 'other.zip')
    with open(tmp_path / 'plain.pkl', 'wb') as f:
        pickle.dump({'a': 1}, f, protocol=2)
    with pytest.raises(CheckpointError, match='is a pickle but not a PyTorch checkpoint'):
        check_checkpoint_file(tmp_path / 'plain.pkl')
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / 'ts.pt')
    with pytest.raises(CheckpointError, match='torchscript'):
        check_checkpoint_file(tmp_path / 'ts.pt')


def test_state_dict_helpers(tmp_path):
    sd = {'module.module.a': torch.ones(1), 'b': torch.zeros(1)}
    assert list(strip_prefixes(sd)) == ['a', 'b']
    assert list(unwrap_state_dict({'model': {'state_dict': sd}})) == list(sd)
    with pytest.raises(CheckpointError, match=r'under state_dict\): 1 entries are not tensors'):
        unwrap_state_dict({'state_dict': {'a': torch.ones(1), 'n': 3}})
    path = _save({'state_dict': sd}, tmp_path)
    assert list(load_state_dict_file(path)) == ['a', 'b']
