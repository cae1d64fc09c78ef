"""mmacon.utils.model_loading: the model an analysis tool measures and its weights."""
import pytest
import torch

from mmacon.models import AconResNet
from mmacon.utils.checkpoint import CheckpointError
from mmacon.utils.model_loading import (build_model, feature_fn, head_fn, load_checkpoint_into,
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


def test_head_fn_is_the_tensor_mode_and_refuses_two_stage_detectors():
    from mmengine.registry import DefaultScope, MODELS
    model, _ = build_model(backbone_cfg=TINY)
    with pytest.raises(ValueError, match=r'^--head needs a detector or segmentor config: the '
                                         r'AconResNet has no _forward'):
        head_fn(model)
    seg = dict(type='EncoderDecoder',
               backbone=dict(type='ResNetV1c', depth=18, out_indices=(3, )),
               decode_head=dict(type='FCNHead', in_channels=512, channels=8, num_convs=1,
                                num_classes=3, in_index=0))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(seg).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(head_fn(model)(x), model.decode_head(model.extract_feat(x)))
    import os.path as osp

    import mmdet
    from mmengine.config import Config
    faster = Config.fromfile(osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                                      'faster_rcnn', 'faster-rcnn_r50_fpn_1x_coco.py')).model
    faster.backbone.update(depth=18, init_cfg=None)
    faster.neck.in_channels = [64, 128, 256, 512]
    with DefaultScope.overwrite_default_scope('mmdet'):
        two_stage = MODELS.build(faster)
    with pytest.raises(ValueError, match=r'^--head: the FasterRCNN is a two-stage detector, '
                                         r'whose RoI head needs proposals'):
        head_fn(two_stage)
