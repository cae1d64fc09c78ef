"""mmacon.models.backbones.base: stage slicing and StagedBackbone's shared behaviour
(out_indices, frozen_stages, norm_eval, with_cp), run on each light backbone."""
import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.models import AconMobileNetV2, AconShuffleNetV2, TFNet
from mmacon.models.backbones.base import split_stages
from tests.test_models.test_backbones.backbone_checks import (assert_frozen_state_fixed,
                                                              assert_same_outputs_and_grads)

LIGHT = [
    (AconShuffleNetV2, dict(widen_factor=0.5)),
    (AconMobileNetV2, dict(widen_factor=0.5)),
    (TFNet, dict(widen_factor=0.5)),
]
IDS = [cls.__name__ for cls, _ in LIGHT]


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
