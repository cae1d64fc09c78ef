"""Pre-run checks of tools/train.py and tools/test.py (mmacon.utils.run_checks)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmacon.utils.checkpoint import CheckpointError
from mmacon.utils.run_checks import (check_amp, check_checkpoint, check_data_paths,
                                     check_pretrained, check_resume, is_remote,
                                     missing_data_paths)


def _good(path):
    torch.save({'state_dict': {'w': torch.ones(1)}}, path)
    return str(path)


def test_check_checkpoint_local_and_remote(tmp_path):
    check_checkpoint(None)
    check_checkpoint('https://download.openmmlab.com/x.pth')  # left to mmengine
    check_checkpoint(_good(tmp_path / 'ok.pth'))
    with pytest.raises(FileNotFoundError, match=r'load_from checkpoint not found: .*no\.pth'):
        check_checkpoint(str(tmp_path / 'no.pth'), 'load_from checkpoint')
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'resume checkpoint .*empty\.pth is empty'):
        check_checkpoint(str(tmp_path / 'empty.pth'), 'resume checkpoint')
    assert is_remote('s3://bucket/a.pth') and not is_remote('checkpoints/a.pth')


def test_check_resume_explicit_and_auto(tmp_path):
    check_resume(Config(dict(resume=False, load_from=str(tmp_path / 'missing.pth'))))
    with pytest.raises(FileNotFoundError, match='resume checkpoint not found'):
        check_resume(Config(dict(resume=True, load_from=str(tmp_path / 'missing.pth'))))
    # auto-resume: the file work_dir/last_checkpoint names
    cfg = Config(dict(resume=True, load_from=None, work_dir=str(tmp_path)))
    check_resume(cfg)  # no last_checkpoint: a fresh start
    (tmp_path / 'iter_2.pth').write_text('not a checkpoint')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    with pytest.raises(CheckpointError, match=r'from .*last_checkpoint\).*iter_2\.pth is not '
                       'a PyTorch checkpoint'):
        check_resume(cfg)


def _model(checkpoint):
    return Config(dict(model=dict(type='X', backbone=dict(
        type='Y', init_cfg=[dict(type='Kaiming'),
                            dict(type='Pretrained', checkpoint=checkpoint)]))))


def test_check_pretrained(tmp_path):
    check_pretrained(_model(_good(tmp_path / 'ok.pth')))
    check_pretrained(_model('torchvision://resnet50'))
    with pytest.raises(FileNotFoundError) as err:
        check_pretrained(_model(str(tmp_path / 'no.pth')))
    assert 'model.backbone.init_cfg.checkpoint' in str(err.value)
    assert 'acon2mmacon.py' in str(err.value)
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'pretrained checkpoint \(model\.backbone\.init_cfg'
                       r'\.checkpoint\) .*empty\.pth is empty \(0 bytes\)'):
        check_pretrained(_model(str(tmp_path / 'empty.pth')))


def test_check_amp(monkeypatch):
    amp = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', loss_scale='dynamic')))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    check_amp(amp)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    check_amp(Config(dict(optim_wrapper=dict(type='OptimWrapper'))))
    with pytest.raises(RuntimeError, match='needs a CUDA GPU.*Drop --amp'):
        check_amp(amp)


def test_missing_data_paths(tmp_path):
    (tmp_path / 'imgs').mkdir()
    ds = dict(type='ConcatDataset', datasets=[
        dict(data_root=str(tmp_path), ann_file='ann.json', data_prefix=dict(img='imgs')),
        dict(data_root=str(tmp_path / 'none'))])
    assert missing_data_paths(ds) == [osp.join(str(tmp_path), 'ann.json'),
                                      str(tmp_path / 'none')]
    cfg = Config(dict(test_dataloader=dict(dataset=dict(data_root=str(tmp_path / 'tiny_x')))))
    with pytest.raises(FileNotFoundError, match='make_tiny_datasets.py'):
        check_data_paths(cfg, 'test')
