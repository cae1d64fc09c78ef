"""Clear errors naming the path when the data root, config or checkpoint is missing
(in process: argument parsing and config checks run before any Runner is built)."""
import os.path as osp

import pytest

from tool_helpers import DET_CONFIG, REPO, SEG_CONFIG, load_tool


@pytest.fixture(scope='module')
def train_tool():
    return load_tool('tools/train.py')


@pytest.fixture(scope='module')
def test_tool():
    return load_tool('tools/test.py')


def test_train_missing_data_root(train_tool, tmp_path):
    missing = str(tmp_path / 'nowhere' / 'tiny_cityscapes')
    args = train_tool.parse_args([SEG_CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                                  f'train_dataloader.dataset.data_root={missing}'])
    with pytest.raises(FileNotFoundError, match='data not found: .*nowhere/tiny_cityscapes'):
        train_tool.build_cfg(args)


def _file_error(tool, argv) -> str:
    """The FileNotFoundError message ``tool``'s config checks raise for ``argv``."""
    with pytest.raises(FileNotFoundError) as err:
        tool.build_cfg(tool.parse_args(argv))
    return str(err.value)


def test_train_missing_default_tiny_data(train_tool, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data/tiny_coco is relative to the cwd
    msg = _file_error(train_tool, [DET_CONFIG])
    assert str(tmp_path / 'data' / 'tiny_coco') in msg
    assert 'tools/misc/make_tiny_datasets.py' in msg


def test_train_missing_annotation_file(train_tool, tmp_path):
    root = tmp_path / 'coco'
    (root / 'train2017').mkdir(parents=True)
    args = train_tool.parse_args([DET_CONFIG, '--cfg-options',
                                  f'train_dataloader.dataset.data_root={root}',
                                  'train_cfg.val_interval=100000', 'val_cfg=None'])
    with pytest.raises(FileNotFoundError, match='annotations/instances_train2017.json'):
        train_tool.build_cfg(args)


def test_train_missing_resume_checkpoint(train_tool, tmp_path):
    ckpt = str(tmp_path / 'missing.pth')
    args = train_tool.parse_args([SEG_CONFIG, '--resume', ckpt])
    with pytest.raises(FileNotFoundError, match='resume checkpoint not found: .*missing.pth'):
        train_tool.build_cfg(args)


def test_train_missing_pretrained_backbone(train_tool, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the configs' checkpoints/ folder is relative to the cwd
    config = osp.join(REPO, 'configs', 'retinanet', 'retinanet_r50-metaacon_fpn_1x_coco.py')
    msg = _file_error(train_tool, [config])
    assert str(tmp_path / 'checkpoints' / 'res50.metaacon_mmacon.pth') in msg
    assert 'model.backbone.init_cfg.checkpoint' in msg
    assert 'acon2mmacon.py' in msg
    # the same config trains from scratch once the pretrained weights are switched off
    assert 'data not found' in _file_error(
        train_tool, [config, '--cfg-options', 'model.backbone.init_cfg=None'])


def test_train_missing_config(train_tool, tmp_path):
    args = train_tool.parse_args([str(tmp_path / 'nope.py')])
    with pytest.raises(FileNotFoundError, match='config not found: .*nope.py'):
        train_tool.build_cfg(args)


def test_test_missing_checkpoint(test_tool, tmp_path):
    ckpt = str(tmp_path / 'absent' / 'iter_2.pth')
    args = test_tool.parse_args([SEG_CONFIG, ckpt])
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*absent/iter_2.pth'):
        test_tool.build_cfg(args)


def test_test_missing_data_root(test_tool, tmp_path):
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    missing = str(tmp_path / 'no_data')
    args = test_tool.parse_args([SEG_CONFIG, str(ckpt), '--cfg-options',
                                 f'test_dataloader.dataset.data_root={missing}'])
    with pytest.raises(FileNotFoundError, match='data not found: .*no_data'):
        test_tool.build_cfg(args)


def test_train_args_like_upstream(train_tool):
    args = train_tool.parse_args([SEG_CONFIG, '--resume', '--amp', '--auto-scale-lr',
                                  '--launcher', 'pytorch', '--local-rank', '1'])
    assert args.resume == 'auto' and args.amp and args.auto_scale_lr
    assert args.launcher == 'pytorch' and args.local_rank == 1
    args = train_tool.parse_args([SEG_CONFIG, '--local_rank', '0', '--resume', 'a.pth'])
    assert args.resume == 'a.pth'


def test_scope_picks_package():
    from mmengine.config import Config

    from mmacon.utils import register_scope
    assert register_scope(Config.fromfile(DET_CONFIG)) == 'mmdet'
    assert register_scope(Config.fromfile(SEG_CONFIG)) == 'mmseg'
    # the ImageNet pretraining configs
    assert register_scope(Config(dict(default_scope='mmpretrain'))) == 'mmpretrain'
    with pytest.raises(ValueError, match="default_scope must be one of .*, got 'mmocr'"):
        register_scope(Config(dict(default_scope='mmocr')))


def test_repo_paths():
    assert osp.isfile(osp.join(REPO, 'tools', 'dist_train.sh'))
