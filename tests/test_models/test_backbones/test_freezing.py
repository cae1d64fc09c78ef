"""mmacon.models.backbones._freezing: frozen modules, BNs in eval mode, and stages frozen
once construction ends."""
import torch
from mmengine.model import BaseModule
from torch import nn

from mmacon.models.backbones._freezing import FreezeWhenBuilt, freeze, norms_to_eval


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


class Net(FreezeWhenBuilt, BaseModule):
    """Freezes ``stem``, as a backbone's ``_freeze_stages``; counts the real calls."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.calls = []
        self.stem = nn.Conv2d(3, channels, 1, bias=False)
        self._freeze_stages()  # as upstream's ResNet.__init__ does: too early

    def _freeze_stages(self) -> None:
        self.calls.append(self.under_construction)
        if not self.under_construction:
            freeze(self.stem)


class NetWithBias(Net):
    """Adds a parameter to the frozen stem after its base's __init__ (as conv_bias)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stem.bias = nn.Parameter(torch.zeros(self.stem.out_channels))


def test_stages_frozen_once_the_outermost_init_returns():
    net = NetWithBias(channels=5)
    assert net.calls == [True, False]  # once during construction (ignored), once after
    assert not net.stem.bias.requires_grad and not net.stem.weight.requires_grad
    assert not net.under_construction and '_init_depth' not in vars(net)
    assert net.stem.out_channels == 5  # arguments reach the wrapped __init__


def test_init_signature_and_doc_kept():
    import inspect
    assert list(inspect.signature(NetWithBias.__init__).parameters) == ['self', 'kwargs']
    assert list(inspect.signature(Net).parameters) == ['channels']
    assert 'as conv_bias' in NetWithBias.__doc__
