"""AconOptimWrapperConstructor: mmengine's DefaultOptimWrapperConstructor is the oracle.

For every parameter, the hyper-parameters of the group it lands in (lr, weight_decay,
momentum, ...) must equal those the default constructor gives it under the same config,
except the ACON parameters (p1, p2, beta), whose weight_decay is 0.
"""
import re

import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.optim import build_optim_wrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from mmacon.engine import AconOptimWrapperConstructor, acon_parameters
from mmacon.models.activations import AconA, AconB, AconFReLU, MetaAconC

# the test models name nothing else like this, so the names are an independent oracle
ACON_NAME = re.compile(r'(^|\.)(p1|p2|beta)$')

PARAMWISE_CFGS = [
    None,
    dict(norm_decay_mult=0., bias_decay_mult=0.),
    dict(flat_decay_mult=0., bias_lr_mult=2.),
    dict(custom_keys={'act': dict(lr_mult=0.1), 'head': dict(lr_mult=0.5, decay_mult=2.)}),
    dict(custom_keys={'.beta': dict(decay_mult=3.)}, norm_decay_mult=0.5),
]


class WithAcon(nn.Module):
    """Every ACON module type next to ordinary layers (and a beta-named non-ACON one)."""

    def __init__(self):
        super().__init__()
        self.stem = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='BN'),
                               act_cfg=dict(type='AconC', channels=8))
        self.act_a = AconA(8)
        self.act_b = AconB(8)
        self.act_meta = MetaAconC(8, reduction=4)
        self.act_frelu = AconFReLU(8, learnable_beta=True)
        self.act_layer = MetaAconC(8, mode='layer')
        self.frozen = nn.Conv2d(8, 8, 1)
        self.frozen.requires_grad_(False)
        self.head = nn.Sequential(nn.Conv2d(8, 8, 3, groups=8), nn.GroupNorm(2, 8),
                                  nn.Linear(8, 4))
        self.head.beta = nn.Parameter(torch.ones(4))  # not ACON: must keep its decay


class WithoutAcon(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='BN'))
        self.frozen = nn.Conv2d(8, 8, 1)
        self.frozen.requires_grad_(False)
        self.head = nn.Sequential(nn.Conv2d(8, 8, 3, groups=8), nn.Linear(8, 4))


def _wrapper_cfg(paramwise_cfg, optimizer=None):
    cfg = dict(optimizer=optimizer or dict(type='SGD', lr=0.1, momentum=0.9,
                                           weight_decay=1e-4))
    if paramwise_cfg is not None:
        cfg['paramwise_cfg'] = paramwise_cfg
    return cfg


def _build(constructor, model, cfg):
    cfg = dict(cfg, constructor=constructor)
    return build_optim_wrapper(model, cfg).optimizer


def _per_param(model, optimizer) -> dict:
    """{name: the hyper-parameters of its group} (each parameter once)."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        settings = {k: v for k, v in group.items() if k != 'params'}
        for p in group['params']:
            assert names[id(p)] not in out, f'{names[id(p)]} in two groups'
            out[names[id(p)]] = settings
    return out


def test_registered_in_root_and_found_from_child_registries():
    assert OPTIM_WRAPPER_CONSTRUCTORS.get('AconOptimWrapperConstructor') \
        is AconOptimWrapperConstructor
    from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS as DET
    from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS as SEG
    for child in (DET, SEG):
        assert child.get('AconOptimWrapperConstructor') is AconOptimWrapperConstructor
    pretrain = pytest.importorskip('mmpretrain.registry')
    assert pretrain.OPTIM_WRAPPER_CONSTRUCTORS.get('AconOptimWrapperConstructor') \
        is AconOptimWrapperConstructor


@pytest.mark.parametrize('paramwise_cfg', PARAMWISE_CFGS)
def test_without_acon_groups_equal_the_default(paramwise_cfg):
    torch.manual_seed(0)
    model = WithoutAcon()
    cfg = _wrapper_cfg(paramwise_cfg)
    ours = _build('AconOptimWrapperConstructor', model, cfg)
    default = _build('DefaultOptimWrapperConstructor', model, cfg)
    assert len(ours.param_groups) == len(default.param_groups)
    for a, b in zip(ours.param_groups, default.param_groups):
        assert [id(p) for p in a['params']] == [id(p) for p in b['params']]
        assert {k: v for k, v in a.items() if k != 'params'} == \
            {k: v for k, v in b.items() if k != 'params'}


@pytest.mark.parametrize('optimizer', [None, dict(type='AdamW', lr=1e-3)],
                         ids=['sgd', 'adamw-default-decay'])
@pytest.mark.parametrize('paramwise_cfg', PARAMWISE_CFGS)
def test_with_acon_only_acon_decay_is_zero(paramwise_cfg, optimizer):
    model = WithAcon()
    cfg = _wrapper_cfg(paramwise_cfg, optimizer)
    try:
        default = _per_param(model, _build('DefaultOptimWrapperConstructor', model, cfg))
    except ValueError as error:  # *_decay_mult without a weight_decay: refused alike
        with pytest.raises(ValueError, match=str(error)):
            _build('AconOptimWrapperConstructor', model, cfg)
        return
    ours = _per_param(model, _build('AconOptimWrapperConstructor', model, cfg))
    assert sorted(ours) == sorted(default)  # same parameters (frozen ones as the default)
    acon = set(acon_parameters(model))
    for name, settings in default.items():
        if name in acon:
            assert ours[name]['weight_decay'] == 0, name
            expected = dict(settings, weight_decay=0.)
            if 'decay_mult' in expected:
                expected['decay_mult'] = 0.
            assert ours[name] == expected, name
        else:
            assert ours[name] == settings, name
    # something was decayed before: the test is not vacuous
    assert all(default[n]['weight_decay'] > 0 for n in acon if n in default)
    assert default['act_meta.fc1.weight']['weight_decay'] > 0  # generator convs keep it


def test_user_paramwise_cfg_still_honoured():
    model = WithAcon()
    cfg = _wrapper_cfg(dict(custom_keys={'act_a': dict(lr_mult=0.1),
                                         'head.0': dict(decay_mult=5.)}))
    ours = _per_param(model, _build('AconOptimWrapperConstructor', model, cfg))
    assert ours['act_a.beta']['lr'] == pytest.approx(0.01)
    assert ours['act_a.beta']['weight_decay'] == 0
    assert ours['head.0.weight']['weight_decay'] == pytest.approx(5e-4)
    assert ours['stem.conv.weight']['weight_decay'] == 1e-4
    assert ours['stem.conv.weight']['lr'] == 0.1


def test_without_paramwise_cfg_two_groups():
    model = WithAcon()
    optimizer = _build('AconOptimWrapperConstructor', model, _wrapper_cfg(None))
    rest, acon = optimizer.param_groups
    assert rest['weight_decay'] == 1e-4 and acon['weight_decay'] == 0
    assert {id(p) for p in acon['params']} == {id(p) for p in acon_parameters(model).values()}
    assert len(rest['params']) + len(acon['params']) == len(list(model.parameters()))


def test_optimizer_step_leaves_acon_undecayed():
    """With zero gradients, SGD's only change is weight decay: ACON parameters stay."""
    torch.manual_seed(0)
    model = WithAcon()
    wrapper = build_optim_wrapper(model, dict(_wrapper_cfg(None),
                                              constructor='AconOptimWrapperConstructor'))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    wrapper.step()
    acon = set(acon_parameters(model))
    for name, p in model.named_parameters():
        moved = not torch.equal(p.detach(), before[name])
        if name in acon:
            assert not moved, name
        elif p.requires_grad and before[name].abs().sum() > 0:
            assert moved, name


@pytest.mark.parametrize('paramwise_cfg', [None, dict(norm_decay_mult=0.)])
def test_wrapped_model_as_the_runner_passes_it(paramwise_cfg):
    """The runner hands a DDP-wrapped model (``.module``) to the constructor."""

    class Wrapper(nn.Module):

        def __init__(self, module):
            super().__init__()
            self.module = module

    model = WithAcon()
    cfg = _wrapper_cfg(paramwise_cfg)
    ours = _per_param(model, _build('AconOptimWrapperConstructor', Wrapper(model), cfg))
    assert sorted(n for n, s in ours.items() if s['weight_decay'] == 0
                  and n in acon_parameters(model)) == sorted(acon_parameters(model))
