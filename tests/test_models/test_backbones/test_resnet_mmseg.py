"""mmacon.models.backbones.resnet_mmseg: inside mmseg's scope ``AconResNet*`` is mmseg's
``ResNet``/``ResNetV1c``/``ResNetV1d`` (oracle: mmseg's classes, same arguments)."""
import pytest
import torch
from mmengine.registry import DefaultScope, MODELS as ROOT_MODELS
from mmseg.models.backbones import resnet as mmseg_resnet
from mmseg.registry import MODELS as MMSEG_MODELS
from torch import nn

from mmacon.models.backbones import resnet_mmseg
from tests.test_models.test_backbones import backbone_checks as checks

SEG_CASES = checks.RESNET_CASES + [
    ('v1c-r50-d8-contract', 'V1c', dict(depth=50, base_channels=4, strides=(1, 2, 1, 1),
                                        dilations=(1, 1, 2, 4), contract_dilation=True)),
    ('v1c-r18-multigrid', 'V1c', dict(depth=18, base_channels=4, strides=(1, 2, 1, 1),
                                      dilations=(1, 1, 2, 4), multi_grid=(1, 2))),
    ('r50-multigrid', '', dict(depth=50, base_channels=4, strides=(1, 2, 1, 1),
                               dilations=(1, 1, 2, 4), multi_grid=(1, 2, 4))),
]


def upstream(suffix: str, **kwargs) -> nn.Module:
    return getattr(mmseg_resnet, f'ResNet{suffix}')(**kwargs)


def ours(suffix: str, **kwargs) -> nn.Module:
    return MMSEG_MODELS.build(dict(type=f'AconResNet{suffix}', **kwargs))


@pytest.mark.parametrize('suffix', ['', 'V1c', 'V1d'])
def test_mmseg_scope_builds_mmseg_subclass(suffix):
    model = ours(suffix, depth=50, base_channels=16)
    assert type(model) is getattr(resnet_mmseg, f'AconResNet{suffix}')
    assert isinstance(model, mmseg_resnet.ResNet)
    assert model.norm_eval is False and model.stem_channels == 64  # mmseg's defaults
    assert model.layer1[0].downsample is None  # 64-wide stem = 16 * 4: no projection
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert type(ROOT_MODELS.build(dict(type=f'AconResNet{suffix}', depth=18))) is \
            type(model)


@pytest.mark.parametrize('name, suffix, kwargs', SEG_CASES, ids=[c[0] for c in SEG_CASES])
def test_acon_off_is_mmseg_resnet(name, suffix, kwargs):
    torch.manual_seed(0)
    ref = upstream(suffix, **kwargs)
    torch.manual_seed(0)  # construction-time draws (DCN weights) in the same order
    model = ours(suffix, act_cfg=None, **kwargs)
    checks.same_init(model, ref)
    checks.assert_is_upstream(model, ref, checks.resnet_x())


@pytest.mark.parametrize('name, suffix, kwargs', [
    c for c in SEG_CASES if c[0] in (
        'r18', 'r50', 'r50-gn', 'r50-plugins', 'r50-frozen2', 'v1c-r50-d8-contract',
        'r50-multigrid')], ids=lambda v: v if isinstance(v, str) else '')
def test_meta_acon_keeps_every_mmseg_tensor(name, suffix, kwargs):
    ref = upstream(suffix, **kwargs)
    model = ours(suffix, act_cfg=dict(type='MetaAconC', reduction=2), **kwargs)
    checks.assert_upstream_plus_acon(model, ref)
    checks.acon_params_frozen_with_stage(model)
    x = checks.resnet_x()
    assert [o.shape for o in model(x)] == [o.shape for o in ref(x)]


def test_dilated_segmentation_setting():
    model = ours('V1c', depth=50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                 contract_dilation=True)
    assert model.layer4[0].conv2.dilation == (2, 2)  # contracted first dilation
    assert model.layer4[1].conv2.dilation == (4, 4)
    assert model.layer3[0].conv2.stride == (1, 1)
    with torch.no_grad():
        outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16), (1, 512, 8, 8),
                                              (1, 1024, 8, 8), (1, 2048, 8, 8)]


def test_gn_and_syncbn_backbones_get_their_generators():
    gn = dict(type='GN', num_groups=32, requires_grad=True)
    model = ours('V1c', depth=18, stem_channels=64, base_channels=32, norm_cfg=gn)
    assert all(isinstance(m, nn.GroupNorm) for n, m in model.named_modules()
               if n.endswith(('.bn1', '.bn2')) and '.acon' in n)
    assert model.train()(torch.rand(1, 3, 32, 32))[-1].shape == (1, 256, 1, 1)
    sync = ours('', depth=18, base_channels=4, norm_cfg=dict(type='SyncBN'))
    assert isinstance(sync.layer1[0].acon2.bn2, nn.SyncBatchNorm)
    checks.assert_upstream_plus_acon(sync, upstream('', depth=18, base_channels=4,
                                                    norm_cfg=dict(type='SyncBN')))


def test_upstream_exception_types():
    for kwargs in (dict(num_stages=0), dict(num_stages=5), dict(style='tensorflow'),
                   dict(strides=(1, ), dilations=(1, 1), num_stages=3)):
        with pytest.raises(AssertionError):  # mmseg's Bottleneck asserts the style
            upstream('', depth=50, base_channels=2, **kwargs)
        with pytest.raises(AssertionError) as info:
            ours('', depth=50, base_channels=2, **kwargs)
        assert isinstance(info.value, ValueError)
    # mmseg's BasicBlock ignores the style; we refuse an unknown one at every depth.
    with pytest.raises(ValueError, match="'tensorflow'"):
        ours('', depth=18, style='tensorflow')
    with pytest.raises(KeyError, match='20'):
        ours('', depth=20)


@pytest.mark.parametrize('suffix, kwargs, acon', checks.freeze_cases(SEG_CASES))
def test_frozen_state_fixed_from_construction(suffix, kwargs, acon):
    """requires_grad and training flags as upstream's from construction on, and unchanged
    by train()/eval() (conv biases included: issue 17's DDP failure)."""
    checks.assert_frozen_state_fixed(ours(suffix, **acon, **kwargs), upstream(suffix, **kwargs))
