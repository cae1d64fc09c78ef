"""mmacon.utils.model_loading: the model an analysis tool measures and its weights."""
import pytest
import torch

from mmacon.models import AconResNet
from mmacon.utils.checkpoint import CheckpointError
from mmacon.utils.model_loading import (build_model, feature_fn, load_checkpoint_into,
                                        parse_cfg_literal)

TINY = "dict(type='AconResNet', depth=18, base_channels=8, act_cfg=dict(type='AconC'))"


def test_parse_cfg_literal():
    assert parse_cfg_literal("dict(type='AconResNet', depth=50, strides=(1, 2), x=[-1])") \
        == dict(type='AconResNet', depth=50, strides=(1, 2), x=[-1])
    assert parse_cfg_literal("{'type': 'TFNet'}") == dict(type='TFNet')
    with pytest.raises(ValueError, match='cannot parse backbone config'):
        parse_cfg_literal("dict(type='AconResNet', depth=__import__('os'))")
    with pytest.raises(ValueError, match='must be a dict with a "type"'):
        parse_cfg_literal('dict(depth=50)')


def test_build_model_modes():
    model, cfg = build_model(backbone_cfg=TINY)
    assert isinstance(model, AconResNet) and cfg is None
    assert feature_fn(model) is model
    with pytest.raises(ValueError, match='exactly one'):
        build_model()


def test_load_checkpoint_into_backbone_and_whole_model(tmp_path):
    torch.manual_seed(0)
    src = AconResNet(depth=18, base_channels=8, act_cfg=dict(type='AconC'))
    plain, whole = tmp_path / 'plain.pth', tmp_path / 'whole.pth'
    torch.save({'state_dict': src.state_dict()}, plain)
    torch.save({'state_dict': {f'module.backbone.{k}': v for k, v in
                               src.state_dict().items()}}, whole)
    for path, where in ((plain, 'model'), (whole, 'model (from backbone.* keys)')):
        model, _ = build_model(backbone_cfg=TINY)
        assert load_checkpoint_into(model, str(path)) == where
        for k, v in src.state_dict().items():
            assert torch.equal(model.state_dict()[k], v), k
    meta, _ = build_model(backbone_cfg=TINY.replace('AconC', 'MetaAconC'))
    with pytest.raises(CheckpointError, match=r'does not fit the model:\n  missing \(\d+\): '
                       r'.*fc1'):
        load_checkpoint_into(meta, str(plain))


def test_backbone_mode_ignores_a_default_scope_left_set():
    """--backbone-cfg builds the root-registry class even after mmdet's scope was entered."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model, _ = build_model(backbone_cfg=TINY)
    assert type(model) is AconResNet
