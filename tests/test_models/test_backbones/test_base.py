"""mmacon.models.backbones.base: freezing (frozen modules, BNs in eval mode, stages
frozen once construction ends), non-reentrant checkpointing, stage slicing and
StagedBackbone's shared behaviour (out_indices, frozen_stages, norm_eval, with_cp), run on
each light backbone."""
import inspect

import pytest
import torch
import torch.utils.checkpoint as torch_checkpoint
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import AconMobileNetV2, AconShuffleNetV2, TFNet
from mmacon.models.backbones.base import (FreezeWhenBuilt, freeze, maybe_checkpoint,
                                          norms_to_eval, split_stages)
from tests.test_models.test_backbones.backbone_checks import (assert_frozen_state_fixed,
                                                              assert_same_outputs_and_grads)

LIGHT = [
    (AconShuffleNetV2, dict(widen_factor=0.5)),
    (AconMobileNetV2, dict(widen_factor=0.5)),
    (TFNet, dict(widen_factor=0.5)),
]
IDS = [cls.__name__ for cls, _ in LIGHT]


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
    assert list(inspect.signature(NetWithBias.__init__).parameters) == ['self', 'kwargs']
    assert list(inspect.signature(Net).parameters) == ['channels']
    assert 'as conv_bias' in NetWithBias.__doc__


def test_checkpoints_only_with_cp_and_grad(monkeypatch):
    calls = []
    real = torch_checkpoint.checkpoint

    def spy(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch_checkpoint, 'checkpoint', spy)
    x = torch.rand(3, requires_grad=True)
    fn = torch.sin
    y = maybe_checkpoint(fn, x, with_cp=True)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.cos(x))
    assert calls == [False]
    maybe_checkpoint(fn, x, with_cp=False)
    with torch.no_grad():
        maybe_checkpoint(fn, x, with_cp=True)
    assert calls == [False]


def test_split_stages():
    blocks = [nn.Identity() for _ in range(6)]
    stages = split_stages(nn.Sequential(*blocks), (1, 3, 2))
    assert [[blocks.index(b) for b in s] for s in stages] == [[0], [1, 2, 3], [4, 5]]
    with pytest.raises(ValueError, match=r'6 blocks do not make stages of \(2, 2\)'):
        split_stages(blocks, (2, 2))


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=IDS)
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


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=IDS)
def test_with_cp_same_outputs_and_grads(cls, kwargs):
    torch.manual_seed(0)
    assert_same_outputs_and_grads(cls(**kwargs), cls(with_cp=True, **kwargs),
                                  torch.rand(2, 3, 64, 64))


@pytest.mark.parametrize('cls, kwargs', LIGHT, ids=IDS)
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


META = dict(type='MetaAconC')
LIGHT_ARGS = [  # each light backbone with ACON on and off, and its own options
    (AconShuffleNetV2, dict(widen_factor=0.5, act_cfg=META)),
    (AconShuffleNetV2, dict(widen_factor=0.5, act_cfg=None, conv_bias=False)),
    (AconMobileNetV2, dict(widen_factor=0.5, act_cfg=META)),
    (AconMobileNetV2, dict(widen_factor=0.5, act_cfg=META, act_placement='dw')),
    (AconMobileNetV2, dict(widen_factor=0.5, act_cfg=None)),
    (TFNet, dict(widen_factor=0.5)),
]


@pytest.mark.parametrize('norm_eval', [False, True])
@pytest.mark.parametrize('frozen_stages', [-1, 0, 2, 4])
@pytest.mark.parametrize('cls, kwargs', LIGHT_ARGS,
                         ids=[f'{c.__name__}-{i}' for i, (c, _) in enumerate(LIGHT_ARGS)])
def test_frozen_state_fixed_from_construction(cls, kwargs, frozen_stages, norm_eval):
    """requires_grad fixed at construction, training flags independent of the history of
    train()/eval()."""
    assert_frozen_state_fixed(cls(frozen_stages=frozen_stages, norm_eval=norm_eval,
                                  **kwargs))
