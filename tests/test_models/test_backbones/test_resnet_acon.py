"""mmacon.models.backbones._resnet_acon: the ACON blocks on their own (standalone
construction with a dict act_cfg) and with ACON off upstream's blocks exactly; zero
biases on bias-free convolutions (conv_bias)."""
import pytest
import torch
from mmcv.ops import DeformConv2dPack
from mmdet.models.backbones import resnet as mmdet_resnet
from mmseg.models.backbones import resnet as mmseg_resnet
from torch import nn

from mmacon.models import AconC, MetaAconC
from mmacon.models.backbones import resnet, resnet_mmdet, resnet_mmseg
from mmacon.models.backbones._arg_checks import ArgumentError
from mmacon.models.backbones._resnet_acon import add_conv_biases
from tests.test_models.test_backbones.backbone_checks import (assert_same_outputs_and_grads,
                                                              randomise_norms)

SCOPES = [(resnet, mmseg_resnet), (resnet_mmdet, mmdet_resnet), (resnet_mmseg, mmseg_resnet)]


@pytest.mark.parametrize('ours, theirs', SCOPES, ids=['root', 'mmdet', 'mmseg'])
@pytest.mark.parametrize('block, args', [('BasicBlock', (8, 8)), ('Bottleneck', (16, 4))])
def test_acon_off_blocks_are_upstream(ours, theirs, block, args):
    torch.manual_seed(0)
    ref = getattr(theirs, block)(*args)
    randomise_norms(ref)
    model = getattr(ours, f'Acon{block}')(*args)
    assert isinstance(model, getattr(theirs, block)) and not model.with_acon
    x = torch.rand(2, args[0], 6, 6)
    model.load_state_dict(ref.state_dict(), strict=True)
    torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)


def test_standalone_blocks_with_act_cfg():
    block = resnet_mmdet.AconBottleneck(16, 4, act_cfg=dict(type='AconC'))
    assert isinstance(block.acon, AconC) and block.acon.channels == 4
    assert isinstance(block.relu, nn.ReLU)
    block = resnet_mmdet.AconBottleneck(16, 4, act_cfg=dict(type='MetaAconC'),
                                        act_placement='all')
    assert [getattr(block, n).channels for n in ('acon1', 'acon2', 'acon3')] == [4, 4, 16]
    assert not hasattr(block, 'relu')
    basic = resnet_mmseg.AconBasicBlock(8, 8, act_cfg=dict(type='MetaAconC'))
    assert isinstance(basic.acon1, MetaAconC) and not hasattr(basic, 'relu')
    assert basic(torch.rand(2, 8, 4, 4)).shape == (2, 8, 4, 4)
    with pytest.raises(ArgumentError, match="'everywhere'"):
        resnet_mmdet.AconBasicBlock(8, 8, act_placement='everywhere')
    with pytest.raises(TypeError, match="AconBasicBlock: act_cfg=.*reducton"):
        resnet_mmdet.AconBasicBlock(8, 8, act_cfg=dict(type='MetaAconC', reducton=2))


@pytest.mark.parametrize('placement', ['paper', 'all'])
def test_with_cp_same_outputs_and_grads(placement):
    torch.manual_seed(0)
    cfg = dict(type='MetaAconC', reduction=2)
    plain = resnet_mmdet.AconBottleneck(16, 4, act_cfg=cfg, act_placement=placement)
    ckpt = resnet_mmdet.AconBottleneck(16, 4, act_cfg=cfg, act_placement=placement,
                                       with_cp=True)

    class Wrap(nn.Module):  # backbone_checks compares tuples of outputs
        def __init__(self, block):
            super().__init__()
            self.block = block

        def forward(self, x):
            return (self.block(x), )

    assert_same_outputs_and_grads(Wrap(plain), Wrap(ckpt), torch.rand(2, 16, 4, 4))


def test_adds_zero_biases_only_where_missing():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.Conv2d(4, 5, 1, bias=True),
                          nn.Conv1d(5, 6, 1, bias=False), nn.Linear(6, 2, bias=False))
    kept = model[1].bias.detach().clone()
    assert add_conv_biases(model) == 2
    assert torch.equal(model[0].bias, torch.zeros(4))
    assert torch.equal(model[1].bias, kept)
    assert model[2].bias.shape == (6, ) and model[3].bias is None
    assert list(model.state_dict())[:2] == ['0.weight', '0.bias']
    assert add_conv_biases(model) == 0


def test_leaves_non_torch_convs_alone():
    dcn = DeformConv2dPack(4, 4, 3, padding=1)  # mmcv's own conv type, no _ConvNd
    assert add_conv_biases(nn.Sequential(dcn)) == sum(
        isinstance(m, nn.modules.conv._ConvNd) and m.bias is None for m in dcn.modules())


FAMILY = ('AconBasicBlock', 'AconBottleneck', 'AconResNet', 'AconResNetV1c', 'AconResNetV1d')
REGISTRIES = [(resnet, 'mmengine.registry'), (resnet_mmdet, 'mmdet.registry'),
              (resnet_mmseg, 'mmseg.registry')]


@pytest.mark.parametrize('module, registry', REGISTRIES, ids=['root', 'mmdet', 'mmseg'])
def test_declared_family_is_named_and_registered_in_its_module(module, registry):
    import importlib
    import pickle
    import pydoc
    registry = importlib.import_module(registry).MODELS
    classes = [getattr(module, name) for name in FAMILY]
    for name, cls in zip(FAMILY, classes):
        assert (cls.__name__, cls.__qualname__, cls.__module__) == (name, name,
                                                                    module.__name__)
        assert cls.__doc__
    assert [registry.module_dict[name] for name in FAMILY[2:]] == classes[2:]
    text = pydoc.render_doc(module, renderer=pydoc.plaintext)
    for name in FAMILY:
        assert f'\n    class {name}(' in text, name
    model = classes[3](depth=18, base_channels=4, conv_bias=True, frozen_stages=1)
    clone = pickle.loads(pickle.dumps(model))
    assert type(clone) is classes[3] and list(clone.state_dict()) == list(model.state_dict())


@pytest.mark.parametrize('ours, theirs', SCOPES, ids=['root', 'mmdet', 'mmseg'])
def test_declared_signature_is_upstreams_plus_acon(ours, theirs):
    import inspect
    sig = inspect.signature(ours.AconResNet)
    ref = inspect.signature(theirs.ResNet)
    names = list(sig.parameters)
    assert names == list(ref.parameters) + ['act_cfg', 'act_placement', 'conv_bias']
    for name, param in ref.parameters.items():
        expected = None if (ours is resnet and name == 'stem_channels') else param.default
        assert sig.parameters[name].default == expected, name
    assert sig.parameters['act_cfg'].default == dict(type='MetaAconC')
    v1c = inspect.signature(ours.AconResNetV1c).parameters
    assert 'deep_stem' not in v1c and 'avg_down' not in v1c
    assert all(p.kind is p.KEYWORD_ONLY for p in v1c.values())
    # positional arguments as upstream takes them
    model = ours.AconResNet(18, 3, 8, 4, act_cfg=None)
    assert (model.stem_channels, model.base_channels) == (8, 4)
