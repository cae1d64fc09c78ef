"""mmacon.models.backbones.tfnet: parameter counts against the paper, shapes, official
structure and names, errors."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import AconFReLU, TFNet
from mmacon.models.backbones._arg_checks import ArgumentError
from tests.test_models.test_backbones.backbone_checks import num_params


def count(model: nn.Module, cls) -> int:
    return sum(isinstance(m, cls) for m in model.modules())


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




@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_from_downstream_registries(scope):
    registry = pytest.importorskip(f'{scope}.registry').MODELS
    model = registry.build(dict(type='TFNet', widen_factor=0.5))
    assert type(model) is TFNet and model.widen_factor == 0.5


def test_acon_frelu_norms_follow_backbone():
    model = TFNet(widen_factor=0.5, norm_cfg=dict(type='GN', num_groups=4))
    frelus = [m for m in model.modules() if isinstance(m, AconFReLU)]
    assert len(frelus) == 2 * 16 + 1
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) > len(frelus)


@pytest.mark.parametrize('kwargs, error, needle', [
    (dict(widen_factor=3.0), ArgumentError, '3.0'),
    (dict(out_indices=(5, )), ArgumentError, r'\(5,\) contains 5'),
    (dict(frozen_stages=6), ArgumentError, r'-1\.\.5, got 6'),
])
def test_bad_arguments(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        TFNet(**kwargs)
