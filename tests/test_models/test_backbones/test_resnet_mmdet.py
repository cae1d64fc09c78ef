"""mmacon.models.backbones.resnet_mmdet: inside mmdet's scope ``AconResNet*`` is mmdet's
``ResNet``/``ResNetV1d`` (oracle: mmdet's classes built with the same arguments)."""
import pytest
import torch
from mmdet.models.backbones import resnet as mmdet_resnet
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import DefaultScope, MODELS as ROOT_MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import MetaAconC
from mmacon.models.backbones import resnet_mmdet
from tests.test_models.test_backbones import backbone_checks as checks


def upstream(suffix: str, **kwargs) -> nn.Module:
    if suffix == 'V1d':
        return mmdet_resnet.ResNetV1d(**kwargs)
    if suffix == 'V1c':  # mmdet has no ResNetV1c: its ResNet with the deep stem
        return mmdet_resnet.ResNet(deep_stem=True, avg_down=False, **kwargs)
    return mmdet_resnet.ResNet(**kwargs)


def ours(suffix: str, **kwargs) -> nn.Module:
    return MMDET_MODELS.build(dict(type=f'AconResNet{suffix}', **kwargs))


@pytest.mark.parametrize('suffix', ['', 'V1c', 'V1d'])
def test_mmdet_scope_builds_mmdet_subclass(suffix):
    model = ours(suffix, depth=18)
    assert type(model) is getattr(resnet_mmdet, f'AconResNet{suffix}')
    assert isinstance(model, mmdet_resnet.ResNet)
    assert model.norm_eval is True  # mmdet's default (mmseg's: False)
    assert isinstance(model.layer1[0], mmdet_resnet.BasicBlock)
    # A config's root build under default_scope='mmdet' (what the runners do).
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert type(ROOT_MODELS.build(dict(type=f'AconResNet{suffix}', depth=18))) is \
            type(model)


@pytest.mark.parametrize('name, suffix, kwargs', checks.RESNET_CASES,
                         ids=[c[0] for c in checks.RESNET_CASES])
def test_acon_off_is_mmdet_resnet(name, suffix, kwargs):
    torch.manual_seed(0)
    ref = upstream(suffix, **kwargs)
    torch.manual_seed(0)  # construction-time draws (DCN weights) in the same order
    model = ours(suffix, act_cfg=None, **kwargs)
    checks.same_init(model, ref)
    checks.assert_is_upstream(model, ref, checks.resnet_x())


@pytest.mark.parametrize('name, suffix, kwargs', [
    c for c in checks.RESNET_CASES if c[0] in (
        'r18', 'r50', 'r50-caffe', 'r50-gn', 'r50-dcn', 'r50-plugins', 'r50-frozen2',
        'v1d-r50', 'r18-frozen0-norm-eval')], ids=lambda v: v if isinstance(v, str) else '')
def test_meta_acon_keeps_every_mmdet_tensor(name, suffix, kwargs):
    ref = upstream(suffix, **kwargs)
    model = ours(suffix, act_cfg=dict(type='MetaAconC', reduction=2), **kwargs)
    added = checks.assert_upstream_plus_acon(model, ref)
    assert all(k.split('.')[0].startswith('layer') for k in added)
    checks.acon_params_frozen_with_stage(model)
    outs = model(checks.resnet_x())
    assert [o.shape for o in outs] == [o.shape for o in ref(checks.resnet_x())]


def test_meta_acon_all_placement_freezes_stem_acon():
    model = ours('', depth=50, base_channels=4, frozen_stages=0, act_placement='all')
    model.train()
    assert isinstance(model.acon1, MetaAconC)
    assert not any(p.requires_grad for p in model.acon1.parameters())
    assert not any(m.training for m in model.acon1.modules() if isinstance(m, _BatchNorm))


def test_gn_backbone_gets_gn_generators():
    """mmdet's GN recipe: a ``type=`` swap gives GN generators (groups fit each width)."""
    gn = dict(type='GN', num_groups=32, requires_grad=True)
    model = ours('', depth=18, base_channels=32, norm_cfg=gn, norm_eval=False)
    acon = model.layer1[0].acon1
    assert isinstance(acon.bn1, nn.GroupNorm) and isinstance(acon.bn2, nn.GroupNorm)
    # groups adapted to each width (acts: largest divisor <= 32, >= 2 channels per group)
    assert (acon.bn1.num_channels, acon.bn1.num_groups) == (16, 8)
    assert model.layer2[0].acon1.bn2.num_groups == 32
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    outs = model.train()(torch.rand(1, 3, 32, 32))  # one image: fine with GN
    assert outs[-1].shape == (1, 256, 1, 1)
    own = ours('', depth=18, base_channels=32, norm_cfg=gn,
               act_cfg=dict(type='MetaAconC', norm_cfg=dict(type='BN')))
    assert isinstance(own.layer1[0].acon1.bn1, nn.BatchNorm2d)  # act_cfg's own wins


def test_syncbn_backbone_gets_syncbn_generators():
    model = ours('', depth=50, base_channels=4, norm_cfg=dict(type='SyncBN'))
    acon = model.layer2[0].acon
    assert isinstance(acon.bn1, nn.SyncBatchNorm) and isinstance(acon.bn2, nn.SyncBatchNorm)
    ref = upstream('', depth=50, base_channels=4, norm_cfg=dict(type='SyncBN'))
    checks.assert_upstream_plus_acon(model, ref)


def test_upstream_exception_types():
    for kwargs in (dict(num_stages=0), dict(num_stages=5),
                   dict(strides=(1, ), dilations=(1, 1), num_stages=3),
                   dict(style='tensorflow'), dict(out_indices=(4, ))):
        with pytest.raises(AssertionError):
            upstream('', depth=50, **kwargs)
        with pytest.raises(AssertionError) as info:
            ours('', depth=50, **kwargs)
        assert isinstance(info.value, ValueError)
        assert str(list(kwargs.values())[0]) in str(info.value)
    with pytest.raises(KeyError, match='20'):
        ours('', depth=20)
    with pytest.raises(TypeError, match='contract_dilation.*valid arguments'):
        ours('', depth=18, contract_dilation=True)  # an mmseg-only argument


@pytest.mark.parametrize('suffix, kwargs, acon', checks.freeze_cases(checks.RESNET_CASES))
def test_frozen_state_fixed_from_construction(suffix, kwargs, acon):
    """requires_grad and training flags as upstream's from construction on, and unchanged
    by train()/eval() (conv biases included: issue 17's DDP failure)."""
    checks.assert_frozen_state_fixed(ours(suffix, **acon, **kwargs), upstream(suffix, **kwargs))
