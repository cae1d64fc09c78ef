"""mmacon.models.backbones.resnet: the root registry's AconResNet family (what
``from mmacon.models import AconResNet`` and mmpretrain/mmengine configs get): defaults,
shapes, exact parameter counts, ACON placement, equivalence with upstream's ResNet,
checkpointing, freezing and argument errors."""
import pytest
import torch
import torch.utils.checkpoint as torch_checkpoint
from mmdet.models.backbones import ResNet as MMDetResNet
from mmengine.registry import MODELS as ROOT_MODELS
from mmseg.models.backbones import ResNet as MMSegResNet
from mmseg.models.backbones import resnet as mmseg_resnet
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import AconC, AconResNet, AconResNetV1c, AconResNetV1d, MetaAconC
from mmacon.models.backbones._arg_checks import ArgumentError
from tests.test_models.test_backbones import backbone_checks as checks
from tests.test_models.test_backbones.backbone_checks import (assert_same_outputs_and_grads,
                                                              num_params)


def acons(model: nn.Module, cls=(AconC, MetaAconC)) -> dict:
    return {name: m for name, m in model.named_modules() if isinstance(m, cls)}


@pytest.mark.parametrize('type_, cls', [('AconResNet', AconResNet),
                                        ('AconResNetV1c', AconResNetV1c),
                                        ('AconResNetV1d', AconResNetV1d)])
def test_build_from_root_registry(type_, cls):
    model = ROOT_MODELS.build(dict(type=type_, depth=18, act_cfg=dict(type='AconC')))
    assert type(model) is cls and isinstance(model, MMSegResNet)
    assert model.deep_stem is (cls is not AconResNet)
    assert model.avg_down is (cls is AconResNetV1d)
    assert len(acons(model)) == 16  # 8 BasicBlocks x (acon1, acon2)


def test_root_defaults():
    """mmseg's ResNet, but the stem follows base_channels (mmdet/mmpretrain)."""
    model = AconResNet(depth=50, base_channels=16, act_cfg=None)
    assert model.norm_eval is False and model.stem_channels == 16
    torch.manual_seed(0)
    ref = MMSegResNet(depth=50, base_channels=16, stem_channels=16)
    checks.same_init(model, ref)
    checks.assert_is_upstream(model, ref, checks.resnet_x())


@pytest.mark.parametrize('act_cfg, expected', [
    (dict(type='MetaAconC'), 23_697_808),
    (dict(type='AconC'), 23_519_360),
    (None, 23_508_032),
    (dict(type='ReLU'), 23_508_032),
])
def test_resnet50_param_counts(act_cfg, expected):
    model = AconResNet(depth=50, act_cfg=act_cfg)
    assert num_params(model) == expected
    assert num_params(MMDetResNet(depth=50)) == 23_508_032


@pytest.mark.parametrize('depth, extra', [(101, 351_616), (152, 494_512)])
def test_deeper_meta_acon_param_budget(depth, extra):
    assert num_params(AconResNet(depth=depth)) - num_params(MMDetResNet(depth=depth)) == extra


def test_paper_placement_bottleneck():
    model = AconResNet(depth=50, act_cfg=dict(type='MetaAconC'))
    found = acons(model)
    assert len(found) == 16
    assert all(name.endswith('.acon') for name in found)
    # At the block's inner width, after conv2/bn2, with r = 16.
    assert found['layer1.0.acon'].channels == 64
    assert found['layer4.2.acon'].channels == 512
    assert found['layer4.2.acon'].fc1.out_channels == 32
    assert isinstance(model.layer1[0].relu, nn.ReLU) and isinstance(model.relu, nn.ReLU)


def test_paper_placement_basic_block():
    model = AconResNet(depth=18, act_cfg=dict(type='AconC'))
    names = sorted(acons(model))
    assert names[:4] == ['layer1.0.acon1', 'layer1.0.acon2', 'layer1.1.acon1', 'layer1.1.acon2']
    assert model.layer3[1].acon2.channels == 256
    assert not hasattr(model.layer3[1], 'relu')


def test_all_placement():
    model = AconResNet(depth=50, act_cfg=dict(type='AconC'), act_placement='all')
    found = acons(model)
    assert len(found) == 16 * 3 + 1
    assert found['acon1'].channels == 64
    assert found['layer2.0.acon1'].channels == 128
    assert found['layer2.0.acon2'].channels == 128
    assert found['layer2.0.acon3'].channels == 512
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    deep = AconResNetV1c(depth=18, act_cfg=dict(type='AconC'), act_placement='all')
    assert [deep.stem[i].channels for i in (2, 5, 8)] == [32, 32, 64]
    x = torch.rand(2, 3, 32, 32)
    assert [o.shape[1] for o in model(x)] == [256, 512, 1024, 2048]
    assert deep(x)[-1].shape == (2, 512, 1, 1)


def test_parameter_free_act_cfg():
    """A parameter-free activation (Swish baseline) is built without ``channels``."""
    model = AconResNet(depth=18, act_cfg=dict(type='SiLU'))
    assert isinstance(model.layer1[0].acon1, nn.SiLU)
    assert num_params(model) == num_params(MMDetResNet(depth=18))


@torch.no_grad()
@pytest.mark.parametrize('depth, channels', [(18, (64, 128, 256, 512)),
                                             (50, (256, 512, 1024, 2048))])
def test_output_shapes_224(depth, channels):
    model = AconResNet(depth=depth).eval()
    outs = model(torch.rand(1, 3, 224, 224))
    sizes = (56, 28, 14, 7)
    assert [tuple(o.shape) for o in outs] == [(1, c, s, s) for c, s in zip(channels, sizes)]


@torch.no_grad()
@pytest.mark.parametrize('out_indices', [(0, ), (1, ), (2, ), (3, ), (1, 3), (-1, )])
def test_each_out_index(out_indices):
    full = AconResNet(depth=18).eval()
    model = AconResNet(depth=18, out_indices=out_indices).eval()
    model.load_state_dict(full.state_dict())
    x = torch.rand(1, 3, 64, 64)
    ref = full(x)
    outs = model(x)
    assert len(outs) == len(out_indices)
    for i, out in zip(out_indices, outs):
        assert torch.equal(out, ref[i])


@pytest.mark.parametrize('depth', [18, 50])
def test_forward_backward_reaches_acon_parameters(depth):
    model = AconResNet(depth=depth, act_cfg=dict(type='MetaAconC')).train()
    outs = model(torch.rand(2, 3, 32, 32))
    sum(o.mean() for o in outs).backward()
    acon = model.layer2[0].acon1 if depth == 18 else model.layer2[0].acon
    for p in (acon.p1, acon.p2, acon.fc1.weight, acon.fc2.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0
    plain = AconResNet(depth=depth, act_cfg=dict(type='AconC'))
    sum(o.mean() for o in plain(torch.rand(2, 3, 32, 32))).backward()
    acon = plain.layer4[1].acon2 if depth == 18 else plain.layer4[1].acon
    for p in (acon.p1, acon.p2, acon.beta):
        assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize('depth, style, act_cfg', [(18, 'pytorch', None),
                                                   (50, 'pytorch', dict(type='ReLU')),
                                                   (50, 'caffe', None)])
def test_equivalent_to_mmdet_resnet_without_acon(depth, style, act_cfg):
    torch.manual_seed(0)
    ref = MMDetResNet(depth=depth, style=style, norm_eval=False)  # mmdet's default: True
    checks.randomise_norms(ref)
    ours = AconResNet(depth=depth, style=style, act_cfg=act_cfg)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.rand(2, 3, 48, 48)
    with torch.no_grad():
        for mode in (False, True):
            ref.train(mode)
            ours.train(mode)
            for a, b in zip(ours(x), ref(x)):
                torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_with_cp_same_outputs_and_grads(monkeypatch):
    calls = []
    real_checkpoint = torch_checkpoint.checkpoint

    def spy(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real_checkpoint(*args, **kwargs)

    monkeypatch.setattr(torch_checkpoint, 'checkpoint', spy)
    torch.manual_seed(0)
    for depth in (18, 50):
        plain = AconResNet(depth=depth, act_cfg=dict(type='MetaAconC'))
        ckpt = AconResNet(depth=depth, act_cfg=dict(type='MetaAconC'), with_cp=True)
        assert_same_outputs_and_grads(plain, ckpt, torch.rand(2, 3, 32, 32))
    assert len(calls) == 8 + 16 and set(calls) == {False}


def test_frozen_stages():
    model = AconResNet(depth=50, act_cfg=dict(type='MetaAconC'), act_placement='all',
                       frozen_stages=1)
    model.train()
    frozen = [model.conv1, model.bn1, model.acon1, model.layer1]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not sub.training for sub in m.modules() if isinstance(sub, _BatchNorm))
    assert not model.layer1[0].acon2.bn1.training  # generator BN frozen too
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert model.layer2[0].acon2.bn1.training
    # deep stem
    v1c = AconResNetV1c(depth=18, frozen_stages=2)
    v1c.train()
    assert all(not p.requires_grad for p in v1c.stem.parameters())
    assert all(not p.requires_grad for p in v1c.layer2.parameters())
    assert all(p.requires_grad for p in v1c.layer3.parameters())


def test_norm_eval_covers_generator_norms_and_allows_batch_one():
    model = AconResNet(depth=18, act_cfg=dict(type='MetaAconC'), norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(bns) > 20 and not any(m.training for m in bns)
    assert model.layer1[0].conv1.training
    outs = model(torch.rand(1, 3, 64, 64))  # batch 1 in training: BN stats frozen
    assert outs[-1].shape == (1, 512, 2, 2)


def test_conv_bias_and_caffe_style_key_layout():
    model = AconResNet(depth=50, style='caffe', conv_bias=True, act_cfg=dict(type='MetaAconC'))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is not None for m in convs)
    block = model.layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)
    keys = set(model.state_dict())
    for key in ['conv1.weight', 'conv1.bias', 'bn1.running_var', 'layer1.0.conv2.bias',
                'layer1.0.downsample.0.bias', 'layer1.0.downsample.1.weight',
                'layer3.5.acon.p1', 'layer3.5.acon.p2', 'layer3.5.acon.fc1.weight',
                'layer3.5.acon.fc1.bias', 'layer3.5.acon.bn1.running_mean',
                'layer3.5.acon.fc2.weight', 'layer3.5.acon.bn2.weight', 'layer4.2.conv3.bias']:
        assert key in keys, key
    base = AconResNet(depth=50, style='caffe', act_cfg=dict(type='MetaAconC'))
    convs_base = [m for n, m in base.named_modules()
                  if isinstance(m, nn.Conv2d) and '.acon.' not in n]
    assert len(convs_base) == 53  # stem + 16 x 3 + 4 downsample
    assert num_params(model) - num_params(base) == sum(m.out_channels for m in convs_base)


def test_pretrained_init_cfg(tmp_path):
    torch.manual_seed(0)
    src = AconResNet(depth=18, act_cfg=dict(type='AconC'))
    path = tmp_path / 'acon_r18.pth'
    torch.save({'state_dict': src.state_dict()}, path)
    model = AconResNet(depth=18, act_cfg=dict(type='AconC'),
                       init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for (name, a), b in zip(src.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name


def test_zero_init_residual():
    model = AconResNet(depth=50, act_cfg=dict(type='AconC'))
    model.init_weights()
    assert model.layer1[0].bn3.weight.abs().sum() == 0
    assert model.layer1[0].bn2.weight.abs().sum() > 0
    r18 = AconResNet(depth=18, act_cfg=dict(type='AconC'))
    r18.init_weights()
    assert r18.layer2[1].bn2.weight.abs().sum() == 0
    assert all(m.init_cfg is None for m in
               AconResNet(depth=50, zero_init_residual=False).layer1)


@pytest.mark.parametrize('kwargs, error, needle', [
    (dict(depth=42), KeyError, '42'),
    (dict(depth=18, out_indices=(0, 4)), ArgumentError, r'\(0, 4\) contains 4'),
    (dict(depth=18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(3, )),
     ArgumentError, 'out_indices'),
    (dict(depth=18, num_stages=0), ArgumentError, 'num_stages must be 1..4, got 0'),
    (dict(depth=18, act_cfg=dict(type='NoSuchAcon')), KeyError, 'NoSuchAcon'),
    (dict(depth=18, act_placement='everywhere'), ArgumentError, 'everywhere'),
    (dict(depth=18, style='tf'), ArgumentError, "'tf'"),
    (dict(depth=18, strides=(1, 2)), ArgumentError, r'strides \(1, 2\)'),
    (dict(depth=18, act_cfg=dict(type='MetaAconC', reducton=8)), TypeError,
     r"AconResNet: act_cfg=\{'type': 'MetaAconC', 'reducton': 8\}.*reducton"),
    (dict(depth=18, bad_arg=1), TypeError, "AconResNet.*'bad_arg'"),
])
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle) as info:
        AconResNet(**kwargs)
    if error is ArgumentError:  # what upstream raises, and what the value is
        assert isinstance(info.value, AssertionError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize('suffix, kwargs, acon', checks.freeze_cases(checks.RESNET_CASES))
def test_frozen_state_fixed_from_construction(suffix, kwargs, acon):
    """requires_grad and training flags as upstream's (mmseg's ResNet, stem at
    base_channels) from construction on, unchanged by train()/eval()."""
    model = ROOT_MODELS.build(dict(type=f'AconResNet{suffix}', **acon, **kwargs))
    ref_kwargs = dict(kwargs)
    ref_kwargs.setdefault('stem_channels', kwargs.get('base_channels', 64))
    ref = getattr(mmseg_resnet, f'ResNet{suffix}')(**ref_kwargs)
    checks.assert_frozen_state_fixed(model, ref)
