"""mmacon.models.backbones.mobilenet_v2: mmdet's MobileNetV2 as the oracle with ACON off,
placements and counts, shapes, frozen_stages as mmdet, generator norms, errors."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.models.backbones import MobileNetV2 as MMDetMobileNetV2

from mmacon.models import AconMobileNetV2, MetaAconC
from mmacon.models.backbones._arg_checks import ArgumentError
from tests.test_models.test_backbones.backbone_checks import num_params


def count(model: nn.Module, cls) -> int:
    return sum(isinstance(m, cls) for m in model.modules())


@torch.no_grad()
def test_mobilenet_equivalent_to_mmdet_without_acon():
    ref = MMDetMobileNetV2(out_indices=tuple(range(8)))
    ref.eval()  # mmdet's train() returns None
    for m in ref.modules():
        if isinstance(m, _BatchNorm):
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.5, 1.5)
    ours = AconMobileNetV2(act_cfg=None, out_indices=tuple(range(8))).eval()
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(2, 3, 64, 64)
    for a, b in zip(ours(x), ref(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert num_params(ours) == num_params(ref) == 2_223_872


def test_mobilenet_placements_and_counts():
    model = AconMobileNetV2(act_cfg=dict(type='MetaAconC'))
    assert num_params(model) == 3_660_624
    # stem + expand (16 blocks) + dw (17 blocks) + conv2
    assert count(model, MetaAconC) == 1 + 16 + 17 + 1 and count(model, nn.ReLU6) == 0
    assert model.layer2[0].expand_conv.activate.channels == 96
    dw = AconMobileNetV2(act_cfg=dict(type='MetaAconC'), act_placement='dw')
    assert num_params(dw) == 2_836_528
    assert count(dw, MetaAconC) == 17 and count(dw, nn.ReLU6) == 1 + 16 + 1
    assert isinstance(dw.layer2[0].depthwise_conv.activate, MetaAconC)
    assert num_params(AconMobileNetV2(act_cfg=dict(type='AconC'))) == 2_270_528


@torch.no_grad()
def test_mobilenet_shapes_224():
    model = AconMobileNetV2(out_indices=tuple(range(8))).eval()
    outs = model(torch.rand(1, 3, 224, 224))
    assert [tuple(o.shape) for o in outs] == [
        (1, 16, 112, 112), (1, 24, 56, 56), (1, 32, 28, 28), (1, 64, 14, 14),
        (1, 96, 14, 14), (1, 160, 7, 7), (1, 320, 7, 7), (1, 1280, 7, 7)]




@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_from_downstream_registries(scope):
    registry = pytest.importorskip(f'{scope}.registry').MODELS
    model = registry.build(dict(type='AconMobileNetV2', widen_factor=0.5))
    assert type(model) is AconMobileNetV2 and model.widen_factor == 0.5


@pytest.mark.parametrize('frozen_stages', [-1, 0, 3, 7])
def test_frozen_stages_as_mmdet(frozen_stages):
    ref = MMDetMobileNetV2(widen_factor=0.5, frozen_stages=frozen_stages)
    ours = AconMobileNetV2(widen_factor=0.5, frozen_stages=frozen_stages, act_cfg=None)
    ref.train()
    ours.train()
    assert {k: p.requires_grad for k, p in ours.named_parameters()} == \
        {k: p.requires_grad for k, p in ref.named_parameters()}
    modes = {k: m.training for k, m in ours.named_modules() if isinstance(m, _BatchNorm)}
    ref_modes = {k: m.training for k, m in ref.named_modules() if isinstance(m, _BatchNorm)}
    # Departure: mmdet stops conv1's gradients but leaves its BN updating statistics;
    # a frozen stem here is frozen entirely (as mmdet's ResNet freezes its stem).
    assert modes.pop('conv1.bn') is (frozen_stages < 0)
    assert ref_modes.pop('conv1.bn') is True
    assert modes == ref_modes


def test_frozen_stages_8_refused_as_mmdet():
    with pytest.raises(ValueError):
        MMDetMobileNetV2(frozen_stages=8)
    with pytest.raises(ValueError, match=r'frozen_stages must be in -1\.\.7, got 8') as info:
        AconMobileNetV2(frozen_stages=8)
    assert isinstance(info.value, ArgumentError)


def test_generator_norm_follows_backbone():
    model = AconMobileNetV2(widen_factor=0.5, norm_cfg=dict(type='GN', num_groups=8))
    acons = [m for m in model.modules() if isinstance(m, MetaAconC)]
    assert len(acons) == 35 and all(isinstance(a.bn1, nn.GroupNorm) for a in acons)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    sync = AconMobileNetV2(widen_factor=0.5, norm_cfg=dict(type='SyncBN'))
    assert isinstance(sync.conv2.activate.bn2, nn.SyncBatchNorm)


@pytest.mark.parametrize('kwargs, error, needle', [
    (dict(out_indices=(8, )), ArgumentError, r'\(8,\) contains 8'),
    (dict(act_placement='pw'), ArgumentError, "'pw'"),
    (dict(widen_factor=0), ValueError, 'widen_factor'),
    (dict(act_cfg=dict(type='NoSuchAcon')), KeyError, 'NoSuchAcon'),
    (dict(act_cfg=dict(type='AconC', bad=1)), TypeError, "AconMobileNetV2: act_cfg=.*bad"),
])
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        AconMobileNetV2(**kwargs)
