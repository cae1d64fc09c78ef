"""Shared argument and input checks: typo'd/missing arguments, wrong widths named by path."""
import inspect
from collections import OrderedDict

import pytest
import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS
from torch import nn

import mmacon  # noqa: F401  (registers the modules)
from mmacon.models.activations import AconA, AconB, AconC, AconFReLU, MetaAconC
from mmacon.models.activations._checks import module_path

# (class, a typo'd keyword, what it should have been, the valid-argument list)
TYPOS = [
    (AconA, 'inplce', 'inplace', 'channels, inplace=False'),
    (AconB, 'p2_int', 'p2_init', 'channels, p2_init=0.25, inplace=False'),
    (AconC, 'imp', 'impl', "channels, init='official', inplace=False, impl='auto'"),
    (MetaAconC, 'reducton', 'reduction', "channels, reduction=16, mode='channel', "
     "norm_cfg={'type': 'BN'}, init='official', inplace=False, impl='auto'"),
    (AconFReLU, 'strid', 'stride', "channels, stride=1, learnable_beta=False, out_norm=True, "
     "norm_cfg={'type': 'BN'}, inplace=False"),
]


def build_three_ways(cfg):
    for build in (build_activation_layer, MODELS.build, MMDET_MODELS.build):
        with pytest.raises(TypeError) as info:
            build(dict(cfg))
        yield info.value


@pytest.mark.parametrize('cls,typo,meant,valid', TYPOS, ids=[t[0].__name__ for t in TYPOS])
def test_typo_names_class_argument_close_match_and_valid_ones(cls, typo, meant, valid):
    expected = (f"{cls.__name__} got unknown argument {typo!r} (did you mean {meant!r}?); "
                f'valid arguments: {valid}')
    for error in build_three_ways({'type': cls.__name__, 'channels': 8, typo: 1}):
        assert str(error) == expected
        assert error.__cause__ is None and error.__suppress_context__  # one error, not a chain


def test_typo_through_a_backbone_is_the_same_one_error():
    with pytest.raises(TypeError) as info:
        MODELS.build(dict(type='AconResNet', depth=18, act_cfg=dict(type='MetaAconC', reducton=8)))
    # one error: the backbone's context (which config key, at which width), then the
    # activation's own message naming the bad argument and the valid ones
    assert str(info.value).startswith(
        "AconResNet: act_cfg={'type': 'MetaAconC', 'reducton': 8} cannot be built at 64 "
        "channels: MetaAconC got unknown argument 'reducton' (did you mean 'reduction'?); "
        'valid arguments: channels, reduction=16,')


def test_unrelated_and_several_unknown_arguments():
    with pytest.raises(TypeError, match=r"^AconC got unknown arguments 'colour', 'imlp' \(did you "
                                        r"mean 'impl'\?\); valid arguments: channels, "):
        AconC(8, colour=1, imlp='eager')
    with pytest.raises(TypeError) as info:
        AconC(8, colour=1)
    assert str(info.value) == ("AconC got unknown argument 'colour'; valid arguments: channels, "
                               "init='official', inplace=False, impl='auto'")
    with pytest.raises(TypeError, match=r"^AconA: too many positional arguments; valid arguments: "
                                        r"channels, inplace=False$"):
        AconA(8, False, 3)


def test_signatures_and_values_are_kept():
    assert list(inspect.signature(MetaAconC).parameters)[:2] == ['channels', 'reduction']
    m = MetaAconC(8, 4, mode='layer')
    assert (m.channels, m.reduction, m.mode) == (8, 4, 'layer')


@pytest.mark.parametrize('act_type', ['AconA', 'AconB', 'AconC', 'MetaAconC', 'AconFReLU'])
def test_missing_channels_in_convmodule_says_what_to_write(act_type):
    with pytest.raises(TypeError) as info:
        ConvModule(3, 24, 3, norm_cfg=dict(type='BN'), act_cfg=dict(type=act_type))
    msg = str(info.value)
    assert msg.startswith(f"{act_type} needs `channels`, the width of the features it activates: "
                          "write channels=<the conv's out_channels> (here 24: the ConvModule conv's "
                          f"out_channels) in its cfg, e.g. act_cfg=dict(type='{act_type}', channels=256)")
    assert ("model=dict(type='AconConvert', model_type=<your model's type>, "
            "convert=dict(act_cfg=...)) in a config") in msg
    assert 'mmacon.models.acon_convert(model, act_cfg)' in msg


def test_missing_channels_act_first_order_names_in_channels():
    with pytest.raises(TypeError, match=r"\(here 3: the ConvModule conv's in_channels, as 'act' comes "
                                        r"first in its order\)"):
        ConvModule(3, 24, 3, act_cfg=dict(type='AconC'), order=('act', 'conv', 'norm'))
    with pytest.raises(TypeError, match=r"^AconC needs `channels`.*write channels=<the conv's "
                                        r"out_channels> in its cfg"):
        build_activation_layer(dict(type='AconC'))  # outside any ConvModule: no width to name


def nested(act):
    inner = nn.Sequential(OrderedDict(acon=act))
    return nn.Sequential(OrderedDict(backbone=nn.Sequential(OrderedDict(
        layer2=nn.Sequential(nn.Identity(), inner)))))


@pytest.mark.parametrize('cls', [AconA, AconB, AconC, MetaAconC, AconFReLU])
def test_wrong_channels_name_the_module_path(cls):
    model = nested(cls(8))
    with pytest.raises(ValueError) as info:
        model(torch.randn(2, 4, 3, 3))
    assert str(info.value) == (f"{cls.__name__} 'backbone.layer2.1.acon' was built for 8 channels "
                               'but got an input with 4 channels (shape (2, 4, 3, 3))')
    with pytest.raises(ValueError, match=rf'^{cls.__name__} was built for 8 channels'):
        cls(8)(torch.randn(2, 4, 3, 3))  # on its own: the class name


def test_wrong_channels_inside_a_real_backbone():
    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = MODELS.build(dict(type='AconResNet', depth=18, base_channels=8,
                                              act_cfg=dict(type='MetaAconC')))

        def forward(self, x):
            return self.backbone(x)

    model = Detector()
    block = model.backbone.layer2[1]
    block.conv1 = nn.Conv2d(16, 12, 3, padding=1, bias=False)  # a width the acon was not built for
    block.bn1 = nn.BatchNorm2d(12)
    with pytest.raises(ValueError, match=r"^MetaAconC 'backbone.layer2.1.acon1' was built for 16 "
                                         r'channels but got an input with 12 channels'):
        model(torch.randn(2, 3, 32, 32))


def test_wrong_rank_names_the_path():
    with pytest.raises(ValueError, match=r"^MetaAconC 'backbone.layer2.1.acon' expects a 4-D "
                                         r'\(N, C, H, W\) input, got a 3-D tensor of shape \(2, 8, 4\)'):
        nested(MetaAconC(8))(torch.randn(2, 8, 4))


def test_module_path_outside_a_call_is_none():
    assert module_path(AconC(4)) is None


@pytest.mark.parametrize('typo, match', [('MetaAcon', 'MetaAconC'), ('metaaconc', 'MetaAconC'),
                                         ('AconFRelu', 'AconFReLU'), ('Relu', 'ReLU')])
def test_unknown_act_type_names_the_close_match(typo, match):
    from mmacon.models.activations._checks import check_act_type
    with pytest.raises(KeyError) as info:
        check_act_type('Owner', dict(type=typo, reduction=8))
    msg = str(info.value)
    assert msg.startswith(f'"Owner: unknown activation type {typo!r} in act_cfg ')
    assert f'did you mean {match!r}?' in msg
    assert 'Registered activations: AconA, AconB, AconC, AconFReLU, ' in msg
    assert 'Conv' not in msg.split('Registered activations:')[1]  # activations only


def test_act_type_registered_class_or_unknown_without_match():
    from mmacon.models.activations._checks import check_act_type, registered_activations
    for ok in ('MetaAconC', 'SiLU', 'mmdet.ReLU', nn.ReLU):
        check_act_type('Owner', dict(type=ok))
    assert {'AconC', 'MetaAconC', 'AconFReLU', 'ReLU', 'GELU'} <= set(registered_activations())
    with pytest.raises(KeyError) as info:
        check_act_type('Owner', dict(type='Xyzzy'))
    assert 'did you mean' not in str(info.value)
    assert 'must be imported first (custom_imports in a config)' in str(info.value)


def test_act_type_found_in_the_default_scope_registry():
    """An activation registered in mmdet's MODELS only is found under default_scope='mmdet',
    where MODELS.build finds it."""
    from mmengine.registry import DefaultScope

    from mmacon.models.activations._checks import check_act_type

    class DetOnlyAct(nn.ReLU):
        pass

    MMDET_MODELS.register_module('DetOnlyActForTest', module=DetOnlyAct, force=True)
    try:
        with DefaultScope.overwrite_default_scope('mmdet'):
            check_act_type('Owner', dict(type='DetOnlyActForTest'))
        with DefaultScope.overwrite_default_scope('mmseg'), \
                pytest.raises(KeyError, match="'DetOnlyActForTest'"):
            check_act_type('Owner', dict(type='DetOnlyActForTest'))
    finally:
        MMDET_MODELS.module_dict.pop('DetOnlyActForTest')
