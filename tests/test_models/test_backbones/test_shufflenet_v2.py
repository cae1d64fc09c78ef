"""mmacon.models.backbones.shufflenet_v2: shapes, official structure and names, parameter
counts against the paper, the channel split, generator norms, errors."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import AconShuffleNetV2, MetaAconC
from mmacon.models.backbones._arg_checks import ArgumentError
from tests.test_models.test_backbones.backbone_checks import num_params


def count(model: nn.Module, cls) -> int:
    return sum(isinstance(m, cls) for m in model.modules())


SHUFFLE_SHAPES = {
    0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
    1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}


@torch.no_grad()
@pytest.mark.parametrize('widen', [0.5, 1.0, 1.5, 2.0])
def test_shufflenet_shapes_224(widen):
    model = AconShuffleNetV2(widen_factor=widen).eval()
    outs = model(torch.rand(1, 3, 224, 224))
    assert [tuple(o.shape) for o in outs] == [
        (1, c, s, s) for c, s in zip(SHUFFLE_SHAPES[widen], (28, 14, 7, 7))]
    assert model.channels == SHUFFLE_SHAPES[widen]


@torch.no_grad()
@pytest.mark.parametrize('out_indices', [(0, ), (1, ), (2, ), (3, ), (0, 1, 2)])
def test_shufflenet_each_out_index(out_indices):
    model = AconShuffleNetV2(widen_factor=0.5, out_indices=out_indices).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [SHUFFLE_SHAPES[0.5][i] for i in out_indices]


# widen -> (ReLU bias-free, Meta-ACON with biases) without classifier, and paper figures
# with the classifier (1024 or 2048 x 1000, no bias): 0.5x 1.4M -> 1.7M, 1.5x 3.5M -> 3.9M.
@pytest.mark.parametrize('widen, relu, meta, paper_relu, paper_meta', [
    (0.5, 341_792, 661_620, 1.4e6, 1.7e6),
    (1.5, 2_482_720, 2_928_842, 3.5e6, 3.9e6),
])
def test_shufflenet_param_counts(widen, relu, meta, paper_relu, paper_meta):
    plain = AconShuffleNetV2(widen_factor=widen, act_cfg=None, conv_bias=False)
    model = AconShuffleNetV2(widen_factor=widen)
    assert num_params(plain) == relu
    assert num_params(model) == meta
    classifier = 1024 * 1000
    assert abs(relu + classifier - paper_relu) < 0.05e6
    assert abs(meta + classifier - paper_meta) < 0.06e6


def test_shufflenet_official_structure():
    model = AconShuffleNetV2(widen_factor=0.5)
    # every ReLU is Meta-ACON: stem, 2 per block, 1 per stride-2 projection, conv_last
    assert count(model, nn.ReLU) == 0
    assert count(model, MetaAconC) == 1 + 16 * 2 + 3 + 1
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    assert model.conv_last[2].fc1.out_channels == 1024 // 8  # r = 8 at 0.5x
    assert AconShuffleNetV2(widen_factor=1.0).conv_last[2].fc1.out_channels == 1024 // 16
    assert AconShuffleNetV2(widen_factor=0.5, act_cfg=dict(
        type='MetaAconC', reduction=4)).conv_last[2].fc1.out_channels == 256
    keys = set(model.state_dict())
    for key in ['first_conv.0.weight', 'first_conv.0.bias', 'first_conv.1.running_mean',
                'first_conv.2.p1', 'features.0.branch_main.0.bias',
                'features.0.branch_main.2.fc1.weight', 'features.0.branch_main.3.weight',
                'features.0.branch_main.7.p2', 'features.0.branch_proj.0.weight',
                'features.0.branch_proj.4.fc2.bias', 'features.15.branch_main.6.weight',
                'conv_last.0.bias', 'conv_last.2.bn2.weight']:
        assert key in keys, key
    assert 'features.1.branch_proj.0.weight' not in keys
    assert [len(model.features[i].branch_main) for i in (0, 1)] == [8, 8]
    assert [i for i, b in enumerate(model.features) if b.stride == 2] == [0, 4, 12]


@torch.no_grad()
def test_shufflenet_block_split_and_order():
    model = AconShuffleNetV2(widen_factor=0.5, act_cfg=dict(type='AconC')).eval()
    x = torch.rand(2, 48, 8, 8)
    block = model.features[1]  # stride 1: even channels pass, odd go through the branch
    out = block(x)
    assert torch.equal(out[:, :24], x[:, 0::2])
    assert torch.equal(out[:, 24:], block.branch_main(x[:, 1::2]))
    down = model.features[4]  # stride 2: cat(branch_proj(x), branch_main(x))
    out = down(x)
    assert out.shape == (2, 96, 4, 4)
    assert torch.equal(out[:, :48], down.branch_proj(x))
    assert torch.equal(out[:, 48:], down.branch_main(x))


@torch.no_grad()
def test_shufflenet_split_is_the_official_channel_shuffle():
    """Even/odd slicing == the official reshape(N*C/2, 2, HW) / permute / reshape split."""
    x = torch.rand(2, 48, 5, 5)
    n, c, h, w = x.shape
    y = x.reshape(n * c // 2, 2, h * w).permute(1, 0, 2).reshape(2, -1, c // 2, h, w)
    assert torch.equal(y[0], x[:, 0::2]) and torch.equal(y[1], x[:, 1::2])


def test_shufflenet_relu_variant():
    model = AconShuffleNetV2(widen_factor=1.5, act_cfg=dict(type='ReLU'))
    assert count(model, nn.ReLU) == 37 and count(model, MetaAconC) == 0
    assert num_params(model) == 2_494_440  # conv biases kept: only the activation differs




@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_from_downstream_registries(scope):
    registry = pytest.importorskip(f'{scope}.registry').MODELS
    model = registry.build(dict(type='AconShuffleNetV2', widen_factor=0.5))
    assert type(model) is AconShuffleNetV2 and model.widen_factor == 0.5


def test_generator_norm_follows_backbone():
    gn = dict(type='GN', num_groups=4)
    model = AconShuffleNetV2(widen_factor=0.5, norm_cfg=gn)
    acons = [m for m in model.modules() if isinstance(m, MetaAconC)]
    assert len(acons) == 37
    assert all(isinstance(a.bn1, nn.GroupNorm) and isinstance(a.bn2, nn.GroupNorm)
               for a in acons)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert model.train()(torch.rand(1, 3, 32, 32))[-1].shape == (1, 1024, 1, 1)
    sync = AconShuffleNetV2(widen_factor=0.5, norm_cfg=dict(type='SyncBN'))
    assert isinstance(sync.conv_last[2].bn1, nn.SyncBatchNorm)
    assert list(sync.state_dict()) == list(AconShuffleNetV2(widen_factor=0.5).state_dict())
    own = AconShuffleNetV2(widen_factor=0.5, norm_cfg=gn,
                           act_cfg=dict(type='MetaAconC', norm_cfg=dict(type='BN')))
    assert isinstance(own.conv_last[2].bn1, nn.BatchNorm2d)


@pytest.mark.parametrize('kwargs, error, needle', [
    (dict(widen_factor=0.75), ArgumentError, '0.75'),
    (dict(out_indices=(4, )), ArgumentError, r'\(4,\) contains 4'),
    (dict(act_cfg=dict(type='NoSuchAcon')), KeyError, 'NoSuchAcon'),
    (dict(frozen_stages=7), ArgumentError, r'-1\.\.4, got 7'),
    (dict(act_cfg=dict(type='MetaAconC', reducton=8)), TypeError,
     "AconShuffleNetV2: act_cfg=.*reducton"),
])
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        AconShuffleNetV2(**kwargs)
