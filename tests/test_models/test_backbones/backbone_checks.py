"""Assertions shared by the backbone tests: ``from tests.test_models.test_backbones import
backbone_checks``. The upstream class is the oracle wherever we claim drop-in."""
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomise_norms(model: nn.Module) -> None:
    """Non-trivial BN statistics and affine parameters (so eval/train modes differ)."""
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
        if isinstance(m, (_BatchNorm, nn.GroupNorm)) and m.weight is not None:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)


def grads_of(model: nn.Module, x: torch.Tensor) -> tuple[list, dict]:
    """Outputs of ``model(x)`` and the gradients of their sum, by parameter name."""
    model.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    outs = model(x)
    sum(o.sum() for o in outs).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    grads['<input>'] = x.grad
    return [o.detach() for o in outs], grads


def assert_same_outputs_and_grads(plain: nn.Module, other: nn.Module, x: torch.Tensor,
                                  exact: bool = False) -> None:
    """``other`` (loaded with ``plain``'s weights, strictly) gives the same outputs and
    gradients (bit for bit with ``exact``)."""
    other.load_state_dict(plain.state_dict(), strict=True)
    tol = dict(rtol=0, atol=0) if exact else {}
    outs_a, grads_a = grads_of(plain, x)
    outs_b, grads_b = grads_of(other, x)
    assert len(outs_a) == len(outs_b)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(b, a, **tol)
    assert grads_a.keys() == grads_b.keys()
    for name, a in grads_a.items():
        b = grads_b[name]
        assert (a is None) == (b is None), name
        if a is not None:
            torch.testing.assert_close(b, a, **tol, msg=name)


def state_of(model: nn.Module) -> tuple[dict, dict, dict]:
    """State-dict shapes, parameters' ``requires_grad`` and modules' ``training`` flags."""
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    grads = {k: p.requires_grad for k, p in model.named_parameters()}
    modes = {k: m.training for k, m in model.named_modules()}
    return shapes, grads, modes


def assert_is_upstream(ours: nn.Module, ref: nn.Module, x: torch.Tensor) -> None:
    """With ACON off, ``ours`` is upstream's network: keys, shapes, frozen parameters,
    train/eval flags after ``train()`` and ``eval()``, outputs and gradients (exactly)."""
    randomise_norms(ref)
    for mode in (True, False):
        ref.train(mode)
        ours.train(mode)
        assert list(ours.state_dict()) == list(ref.state_dict())
        assert state_of(ours) == state_of(ref)
        assert_same_outputs_and_grads(ref, ours, x, exact=True)


def assert_upstream_plus_acon(ours: nn.Module, ref: nn.Module) -> set:
    """With ACON on, every upstream tensor is kept (same name and shape) and only ACON
    tensors are added; returns the added keys."""
    ours.train()
    ref.train()
    shapes, _, _ = state_of(ours)
    ref_shapes, ref_grads, _ = state_of(ref)
    for key, shape in ref_shapes.items():
        assert shapes.get(key) == shape, key
    added = set(shapes) - set(ref_shapes)
    assert added and all('.acon' in k or k.startswith('acon') or k.startswith('stem.')
                         for k in added), sorted(added)[:5]
    # The kept parameters are frozen exactly where upstream freezes them.
    grads = dict((k, p.requires_grad) for k, p in ours.named_parameters())
    assert {k: grads[k] for k in ref_grads} == ref_grads
    return added


# Upstream ResNet's argument space at small widths (mmdet's and mmseg's common part):
# (id, class suffix, kwargs). Each builds in well under a second; inputs are 2x3x32x32.
GN = dict(type='GN', num_groups=2, requires_grad=True)
DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
PLUGINS = [
    dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, False),
         position='after_conv3'),
    dict(cfg=dict(type='NonLocal2d'), position='after_conv2'),
    dict(cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=2,
                  attention_type='0010', kv_stride=2), stages=(False, False, True, True),
         position='after_conv2'),
]
RESNET_CASES = [
    ('r18', '', dict(depth=18, base_channels=4)),
    ('r34', '', dict(depth=34, base_channels=4)),
    ('r50', '', dict(depth=50, base_channels=4)),
    ('r101', '', dict(depth=101, base_channels=2)),
    ('r152', '', dict(depth=152, base_channels=2)),
    ('r50-caffe', '', dict(depth=50, base_channels=4, style='caffe')),
    ('r18-stem8-base4', '', dict(depth=18, stem_channels=8, base_channels=4)),
    ('r50-stem-default', '', dict(depth=50, base_channels=16)),
    ('r18-2stages', '', dict(depth=18, base_channels=4, num_stages=2, strides=(1, 2),
                             dilations=(1, 1), out_indices=(0, 1))),
    ('r50-dilated', '', dict(depth=50, base_channels=4, strides=(1, 2, 1, 1),
                             dilations=(1, 1, 2, 4), out_indices=(1, 3))),
    ('r50-gn', '', dict(depth=50, base_channels=4, norm_cfg=GN)),
    ('r50-dcn', '', dict(depth=50, base_channels=4, dcn=DCN,
                         stage_with_dcn=(False, True, False, False))),  # CPU: >= 3x3
    ('r50-plugins', '', dict(depth=50, base_channels=8, plugins=PLUGINS)),
    ('r50-cp', '', dict(depth=50, base_channels=4, with_cp=True)),
    ('r18-cp', '', dict(depth=18, base_channels=4, with_cp=True)),
    ('r50-frozen2', '', dict(depth=50, base_channels=4, frozen_stages=2)),
    ('r18-frozen0-norm-eval', '', dict(depth=18, base_channels=4, frozen_stages=0,
                                       norm_eval=True)),
    ('r18-norm-train', '', dict(depth=18, base_channels=4, norm_eval=False)),
    ('r18-frozen-bn', '', dict(depth=18, base_channels=4,
                               norm_cfg=dict(type='BN', requires_grad=False))),
    ('v1d-r50', 'V1d', dict(depth=50, base_channels=4, frozen_stages=1)),
    ('v1d-r18-stem', 'V1d', dict(depth=18, stem_channels=8, base_channels=4)),
    ('v1c-r50', 'V1c', dict(depth=50, base_channels=4)),
    ('r50-no-zero-init', '', dict(depth=50, base_channels=4, zero_init_residual=False)),
]


def resnet_x() -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def same_init(ours: nn.Module, ref: nn.Module, seed: int = 0) -> None:
    """``init_weights()`` under one seed gives both the same weights (same init_cfg, same
    order of random draws)."""
    for model in (ref, ours):
        torch.manual_seed(seed)
        model.init_weights()
    for (key, a), b in zip(ref.state_dict().items(), ours.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=key)


def acon_params_frozen_with_stage(model: nn.Module) -> None:
    """Every ACON parameter under a frozen stage is frozen; its norms stay in eval mode."""
    model.train()
    frozen = model.frozen_stages
    for i in range(1, len(model.res_layers) + 1):
        layer = getattr(model, f'layer{i}')
        acon = {n: m for n, m in layer.named_modules() if n.rsplit('.', 1)[-1].startswith('acon')}
        assert acon
        for m in acon.values():
            for p in m.parameters():
                assert p.requires_grad is (i > frozen)
            for sub in m.modules():
                if isinstance(sub, _BatchNorm):
                    assert sub.training is (i > frozen and not model.norm_eval)


def grad_flags(model: nn.Module) -> dict:
    return {k: p.requires_grad for k, p in model.named_parameters()}


def mode_flags(model: nn.Module) -> dict:
    return {k: m.training for k, m in model.named_modules()}


# train(True) / train(False) calls after construction, in an order that visits every
# transition (train->train, train->eval, eval->eval, eval->train) at least once.
MODE_SEQUENCE = (True, True, False, False, True, False, True)


def _assert_flags_match(ours: nn.Module, ref: nn.Module, when: str) -> None:
    """``ref``'s parameters and modules have the same flags in ``ours`` (which may have
    more: ACON modules, conv biases); a module ``ours`` removed (a replaced ReLU) is
    skipped."""
    grads, ref_grads = grad_flags(ours), grad_flags(ref)
    assert {k: grads.get(k) for k in ref_grads} == ref_grads, when
    modes, ref_modes = mode_flags(ours), mode_flags(ref)
    assert {k: modes[k] for k in ref_modes if k in modes} == \
        {k: v for k, v in ref_modes.items() if k in modes}, when


def assert_frozen_state_fixed(model: nn.Module, ref: nn.Module | None = None) -> None:
    """The invariant DDP relies on (issue 17): each parameter's ``requires_grad`` is the
    same right after construction and after any sequence of ``train()``/``eval()``;
    modules' ``training`` flags after ``train()`` (``eval()``) do not depend on what came
    before, and right after construction they are those of ``train()`` except for the BNs
    a ``norm_eval`` puts in eval mode (upstream's ``train()`` does that, not its
    constructor). Every conv bias (``conv_bias=True`` adds them) is frozen with its
    weight. With ``ref``, upstream built with the same arguments: the same flags as ``ref``
    at construction and after each call, on ``ref``'s names."""
    built_grads, built_modes = grad_flags(model), mode_flags(model)
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.conv._ConvNd) and m.bias is not None:
            assert m.bias.requires_grad is m.weight.requires_grad, name
    if ref is not None:
        _assert_flags_match(model, ref, 'construction')
    seen = {}
    for step, mode in enumerate(MODE_SEQUENCE):
        model.train(mode)
        assert grad_flags(model) == built_grads, f'requires_grad changed at call {step}'
        modes = seen.setdefault(mode, mode_flags(model))
        assert mode_flags(model) == modes, f'training flags differ at call {step}'
        if ref is not None:
            ref.train(mode)
            _assert_flags_match(model, ref, f'call {step}: train({mode})')
    assert not any(seen[False].values())
    after_train = seen[True]
    # BNs under a module with norm_eval (the backbone of a detector too): eval after
    # train(), in training mode at construction unless frozen
    norms = {f'{prefix}.{k}'.strip('.') for prefix, owner in model.named_modules()
             if getattr(owner, 'norm_eval', False)
             for k, m in owner.named_modules() if isinstance(m, _BatchNorm)}
    assert all(built_modes[k] for k in norms if after_train[k])
    assert {k: v for k, v in built_modes.items() if k not in norms} == \
        {k: v for k, v in after_train.items() if k not in norms}


# ACON options crossed with the oracle cases for the frozen-state invariant: ACON off as
# the case is, then with conv biases (what the shipped configs use) and a frozen stage
# unless the case sets frozen_stages, Meta-ACON in the paper's placement, and ACON-C
# everywhere (stem included) with the stem frozen.
FREEZE_VARIANTS = [
    ('off', dict(act_cfg=None), None),
    ('off-bias', dict(act_cfg=None, conv_bias=True), 1),
    ('meta-bias', dict(act_cfg=dict(type='MetaAconC', reduction=2), conv_bias=True), 1),
    ('aconc-all-bias', dict(act_cfg=dict(type='AconC'), act_placement='all',
                            conv_bias=True), 0),
]


def freeze_cases(cases: list) -> list:
    """``pytest.param(suffix, upstream kwargs, ACON kwargs)`` for each case x variant."""
    import pytest
    params = []
    for name, suffix, kwargs in cases:
        for variant, acon, frozen in FREEZE_VARIANTS:
            kwargs = dict(kwargs)
            if frozen is not None:
                kwargs.setdefault('frozen_stages', frozen)
            params.append(pytest.param(suffix, kwargs, acon, id=f'{name}-{variant}'))
    return params
