"""Every activation resolves from mmengine's root MODELS and from mmcv, mmdet and mmseg."""
import pytest
import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS as ROOT_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS

import mmacon  # noqa: F401  (registers the modules)
from mmacon.models.activations import AconA, AconB, AconC, AconFReLU, MetaAconC

CASES = [
    (dict(type='AconA', channels=8), AconA),
    (dict(type='AconB', channels=8), AconB),
    (dict(type='AconC', channels=8), AconC),
    (dict(type='MetaAconC', channels=8, reduction=4), MetaAconC),
    (dict(type='MetaAconC', channels=8, mode='pixel'), MetaAconC),
    (dict(type='AconFReLU', channels=8), AconFReLU),
]


def _build_each(cfg):
    yield 'mmengine', ROOT_MODELS.build(dict(cfg))
    yield 'mmdet', MMDET_MODELS.build(dict(cfg))
    yield 'mmseg', MMSEG_MODELS.build(dict(cfg))
    yield 'mmcv', build_activation_layer(dict(cfg))


@pytest.mark.parametrize('cfg,cls', CASES, ids=[c['type'] + str(i) for i, (c, _) in enumerate(CASES)])
def test_builds_from_every_registry(cfg, cls):
    x = torch.randn(2, 8, 6, 6)
    outputs = {}
    for where, module in _build_each(cfg):
        assert type(module) is cls, where
        assert module.channels == 8
        torch.manual_seed(0)
        module.load_state_dict(ROOT_MODELS.build(dict(cfg)).state_dict())
        outputs[where] = module.eval()(x)
    ref = outputs.pop('mmengine')
    for where, y in outputs.items():
        torch.testing.assert_close(y, ref, rtol=0, atol=0, msg=where)


@pytest.mark.parametrize('act_type', ['AconC', 'MetaAconC', 'AconA', 'AconB', 'AconFReLU'])
def test_inside_convmodule(act_type):
    # ConvModule passes inplace=True to most activation types: it must be accepted
    m = ConvModule(3, 16, 3, padding=1, norm_cfg=dict(type='BN'),
                   act_cfg=dict(type=act_type, channels=16))
    assert type(m.activate).__name__ == act_type
    x = torch.randn(2, 3, 8, 8)
    y = m(x)
    assert y.shape == (2, 16, 8, 8)
    expected = m.activate(m.norm(m.conv(x)))
    torch.testing.assert_close(y, expected)
    y.sum().backward()
    assert all(p.grad is not None for p in m.activate.parameters())


def test_unknown_config_key_is_refused():
    with pytest.raises(TypeError, match='reductoin'):
        ROOT_MODELS.build(dict(type='MetaAconC', channels=8, reductoin=4))


def test_missing_channels_is_refused():
    with pytest.raises(TypeError, match='channels'):
        build_activation_layer(dict(type='AconC'))
