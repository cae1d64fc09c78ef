"""check_checkpoint_file: one error naming the file and the fault; no pickle runs."""
import pickle
import zipfile

import pytest
import torch

from mmacon.utils.checkpoint import CheckpointError, CheckpointNotFoundError, check_checkpoint_file
from tests.test_utils.test_checkpoint.helpers import save, training_checkpoint


def test_accepts_zip_legacy_and_training_checkpoints(tmp_path):
    zip_path = save({'state_dict': {'w': torch.ones(2)}}, tmp_path, 'zip.pth')
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    run = save(training_checkpoint(), tmp_path, 'run.pth')
    for path in (zip_path, legacy, run):
        assert check_checkpoint_file(path) == str(path)


@pytest.mark.parametrize('fmt', ['zip', 'legacy'])
def test_names_pickled_code_without_running_it(tmp_path, fmt):
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
    assert not marker.exists()


def test_faults(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match='checkpoint not found: '):
        check_checkpoint_file(tmp_path / 'none.pth')
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)
    with pytest.raises(CheckpointError, match='is a directory'):
        check_checkpoint_file(tmp_path)
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
