"""The tools' loaders: weights_only, the allow-list registered first, one error a fault."""
import os
import subprocess
import sys

import pytest
import torch

from mmacon.utils.checkpoint import (CheckpointError, load_checkpoint_file, load_into,
                                     load_state_dict_file, strip_prefixes, unwrap_state_dict)
from tests.test_utils.test_checkpoint.helpers import save, training_checkpoint


def test_loads_a_training_checkpoint_in_a_fresh_process(tmp_path):
    path = save(training_checkpoint(), tmp_path)
    code = ('import torch, mmacon\n'
            'from mmacon.utils.checkpoint import load_checkpoint_file\n'
            'from mmacon.utils.checkpoint import SAFE_GLOBALS\n'
            'assert not any(e in torch.serialization.get_safe_globals() for e in SAFE_GLOBALS)\n'
            f'ckpt = load_checkpoint_file({str(path)!r})\n'
            "print(ckpt['meta']['iter'], ckpt['message_hub']['log_scalars']['train/loss'].mean())")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert out.returncode == 0, out.stderr
    iters, mean = out.stdout.split()
    assert iters == '3' and float(mean) == pytest.approx((1 + 0.5 + 1 / 3) / 3)


def test_legacy_file_and_code_refused(tmp_path):
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert torch.equal(load_checkpoint_file(legacy)['w'], torch.ones(2))
    marker = tmp_path / 'ran'

    class Touch:
        def __reduce__(self):
            return os.system, (f'touch {marker}', )

    evil = tmp_path / 'evil.pth'
    torch.save({'w': torch.ones(1), 'x': Touch()}, evil)
    with pytest.raises(CheckpointError, match='pickles posix.system'):
        load_checkpoint_file(evil)
    assert not marker.exists()


def test_state_dict_helpers(tmp_path):
    sd = {'module.module.a': torch.ones(1), 'b': torch.zeros(1)}
    assert list(strip_prefixes(sd)) == ['a', 'b']
    assert list(unwrap_state_dict({'model': {'state_dict': sd}})) == list(sd)
    with pytest.raises(CheckpointError, match=r'under state_dict\): 1 entries are not tensors'):
        unwrap_state_dict({'state_dict': {'a': torch.ones(1), 'n': 3}})
    path = save({'state_dict': sd}, tmp_path)
    assert list(load_state_dict_file(path)) == ['a', 'b']


def test_load_into_names_every_mismatch():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    sd['0.weight'] = torch.ones(4, 2)
    sd['extra'] = torch.ones(1)
    del sd['1.bias']
    with pytest.raises(CheckpointError) as err:
        load_into(net, sd, 'backbone')
    text = str(err.value)
    assert text.startswith('checkpoint does not fit the backbone:')
    assert 'missing (1): 1.bias' in text and 'unexpected (1): extra' in text
    assert 'shape mismatch (1): 0.weight: checkpoint (4, 2) vs backbone (3, 2)' in text
    ok = {k: torch.full_like(v, 2.0) for k, v in net.state_dict().items()
          if not k.endswith('num_batches_tracked')}
    load_into(net, ok, 'backbone')
    assert torch.equal(net[0].weight, torch.full((3, 2), 2.0))
