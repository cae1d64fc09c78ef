"""mmacon.models.backbones._conv_bias: zero biases on bias-free convolutions."""
import torch
from mmcv.ops import DeformConv2dPack
from torch import nn

from mmacon.models.backbones._conv_bias import add_conv_biases


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
