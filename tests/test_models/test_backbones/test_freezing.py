"""mmacon.models.backbones._freezing: frozen modules and BNs in eval mode."""
from torch import nn

from mmacon.models.backbones._freezing import freeze, norms_to_eval


def test_freeze():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train()
    freeze(model)
    assert not model.training and not model[1].training
    assert not any(p.requires_grad for p in model.parameters())


def test_norms_to_eval_touches_only_bns():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.GroupNorm(2, 4),
                          nn.SyncBatchNorm(4)).train()
    norms_to_eval(model)
    assert [m.training for m in model] == [True, False, True, False]
    assert all(p.requires_grad for p in model.parameters())
