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
