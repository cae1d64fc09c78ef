"""AconShuffleNetV2, AconMobileNetV2 and TFNet: registries, shapes, official structure
and names, parameter counts against the paper, gradients, checkpointing, freezing, errors."""
import pytest
import torch
from mmdet.models.backbones import MobileNetV2 as MMDetMobileNetV2
from mmdet.registry import MODELS as MMDET_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import (AconFReLU, AconMobileNetV2, AconShuffleNetV2, MetaAconC,
                           TFNet)
from tests.test_models.test_backbones.backbone_checks import assert_same_outputs_and_grads


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count(model: nn.Module, cls) -> int:
    return sum(isinstance(m, cls) for m in model.modules())


@pytest.mark.parametrize('registry', [MMDET_MODELS, MMSEG_MODELS], ids=['mmdet', 'mmseg'])
@pytest.mark.parametrize('cfg, cls', [
    (dict(type='AconShuffleNetV2', widen_factor=0.5), AconShuffleNetV2),
    (dict(type='AconMobileNetV2', widen_factor=0.5), AconMobileNetV2),
    (dict(type='TFNet', widen_factor=0.5), TFNet),
])
def test_build_from_downstream_registries(registry, cfg, cls):
    model = registry.build(cfg)
    assert type(model) is cls and model.widen_factor == 0.5


# ---------------------------------------------------------------- ShuffleNetV2
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


# ---------------------------------------------------------------- TFNet
@pytest.mark.parametrize('widen, params, paper', [
    (0.5, 319_504, 1.3e6), (1.0, 898_336, 1.9e6), (1.5, 1_753_904, 2.7e6),
    (2.0, 2_886_208, 3.8e6)])
def test_tfnet_param_counts(widen, params, paper):
    model = TFNet(widen_factor=widen)
    assert num_params(model) == params
    # + the 1024 x 1000 classifier (with bias): within 0.12M of the paper's figure
    assert abs(params + 1024 * 1000 + 1000 - paper) < 0.12e6


@torch.no_grad()
def test_tfnet_shapes_and_structure():
    model = TFNet(widen_factor=1.0, out_indices=(0, 1, 2, 3, 4)).eval()
    outs = model(torch.rand(1, 3, 224, 224))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 56, 56), (1, 64, 28, 28),
                                              (1, 128, 14, 14), (1, 256, 7, 7),
                                              (1, 1024, 7, 7)]
    assert [i for i, b in enumerate(model.features) if b.stride == 2] == [0, 2, 5, 13]
    assert len(model.features) == 16
    first = model.features[0]
    assert isinstance(first.acon, AconFReLU) and first.acon.channels == 32
    assert first.acon.conv_frelu.stride == (2, 2)
    assert isinstance(first.branch_main[2], AconFReLU) and len(first.branch_main) == 5
    assert isinstance(model.first_conv[2], nn.ReLU)
    assert isinstance(model.conv_last[2], AconFReLU)
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    keys = set(model.state_dict())
    for key in ['first_conv.0.bias', 'features.0.branch_main.0.bias',
                'features.0.branch_main.2.conv_frelu.weight', 'features.0.branch_main.4.weight',
                'features.1.acon.bn1.weight', 'features.1.acon.bn2.running_var',
                'conv_last.0.weight', 'conv_last.2.conv_frelu.bias']:
        assert key in keys, key
    block = model.features[1]
    x = torch.rand(1, 32, 8, 8)
    torch.testing.assert_close(block(x), block.acon(x + block.branch_main(x)))


# ---------------------------------------------------------------- MobileNetV2
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


# ---------------------------------------------------------------- shared behaviour
LIGHT = [
    (AconShuffleNetV2, dict(widen_factor=0.5)),
    (AconMobileNetV2, dict(widen_factor=0.5)),
    (TFNet, dict(widen_factor=0.5)),
]


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=lambda v: getattr(v, '__name__', ''))
def test_forward_backward_reaches_acon_parameters(cls, kwargs):
    model = cls(out_indices=(-1, ), **kwargs).train()  # the last output: every layer
    outs = model(torch.rand(2, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    # fc1/fc2 biases sit right before a BN (zero gradient in training): weights only
    acon_params = [(n, p) for n, p in model.named_parameters()
                   if n.rsplit('.', 1)[-1] in ('p1', 'p2') or n.endswith(
                       ('fc1.weight', 'fc2.weight', 'conv_frelu.weight'))]
    assert len(acon_params) > 10
    for name, p in acon_params:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=lambda v: getattr(v, '__name__', ''))
def test_with_cp_same_outputs_and_grads(cls, kwargs):
    torch.manual_seed(0)
    assert_same_outputs_and_grads(cls(**kwargs), cls(with_cp=True, **kwargs),
                                  torch.rand(2, 3, 64, 64))


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=lambda v: getattr(v, '__name__', ''))
def test_frozen_stages_and_norm_eval(cls, kwargs):
    model = cls(frozen_stages=1, **kwargs).train()
    frozen = model.stem() + model.stages()[0]
    for m in frozen:
        assert all(not p.requires_grad for p in m.parameters())
        assert all(not b.training for b in m.modules() if isinstance(b, _BatchNorm))
    for m in model.stages()[1]:
        assert all(p.requires_grad for p in m.parameters())
        assert all(b.training for b in m.modules() if isinstance(b, _BatchNorm))
    model = cls(norm_eval=True, **kwargs).train()
    assert not any(b.training for b in model.modules() if isinstance(b, _BatchNorm))
    assert model(torch.rand(1, 3, 64, 64))[-1].shape[0] == 1  # batch 1 with frozen BNs


@pytest.mark.parametrize('build, error, needle', [
    (lambda: AconShuffleNetV2(widen_factor=0.75), ValueError, '0.75'),
    (lambda: AconShuffleNetV2(out_indices=(4, )), ValueError, '4'),
    (lambda: AconShuffleNetV2(act_cfg=dict(type='NoSuchAcon')), KeyError, 'NoSuchAcon'),
    (lambda: AconShuffleNetV2(frozen_stages=7), ValueError, '7'),
    (lambda: TFNet(widen_factor=3.0), ValueError, '3.0'),
    (lambda: TFNet(out_indices=(5, )), ValueError, '5'),
    (lambda: AconMobileNetV2(out_indices=(8, )), ValueError, '8'),
    (lambda: AconMobileNetV2(act_placement='pw'), ValueError, 'pw'),
    (lambda: AconMobileNetV2(act_cfg=dict(type='NoSuchAcon')), KeyError, 'NoSuchAcon'),
])
def test_bad_arguments(build, error, needle):
    with pytest.raises(error, match=needle):
        build()
