"""What both fused Meta-ACON nodes leave to the module path, and the BN arguments they
pass as torch's BN forward takes them."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from mmacon.ops.fused_generator import module_path_reason, norm_args


def _gen(c=8, r=4):
    return nn.Conv2d(c, r, 1), nn.BatchNorm2d(r), nn.Conv2d(r, c, 1), nn.BatchNorm2d(c)


def test_module_path_reasons():
    fc1, bn1, fc2, bn2 = _gen()
    x = torch.randn(2, 8, 3, 5)
    assert module_path_reason(x, fc1, bn1, fc2, bn2) is None
    assert module_path_reason(x.contiguous(memory_format=torch.channels_last),
                              fc1, bn1, fc2, bn2) is None
    assert module_path_reason(x.transpose(2, 3), fc1, bn1, fc2, bn2) == \
        'x is neither contiguous nor channels_last'
    assert module_path_reason(x, fc1, nn.GroupNorm(2, 4), fc2, bn2) == \
        'bn1 is a GroupNorm; the fused generator takes BatchNorm2d or no norm'
    assert module_path_reason(x, fc1, bn1, nn.Linear(4, 8), bn2) == \
        'fc2 is a Linear without a plain weight parameter; the fused generator takes an nn.Conv2d'
    for name, module in (('bn2', bn2), ('fc1', fc1)):
        handle = module.register_forward_hook(lambda *a: None)
        assert module_path_reason(x, fc1, bn1, fc2, bn2) == \
            f'{name} has hooks, which the module path calls'
        handle.remove()
    handle = nn.modules.module.register_module_forward_pre_hook(lambda *a: None)
    try:
        assert module_path_reason(x, fc1, bn1, fc2, bn2) == \
            'global module hooks are registered, which the module path calls'
    finally:
        handle.remove()

    class Spy(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    with Spy():
        assert 'TorchDispatchMode' in module_path_reason(x, fc1, bn1, fc2, bn2)
    assert module_path_reason(x, fc1, bn1, fc2, bn2) is None


def _bn_forward(norm, y, args):
    mode, eps, factor, g, e, rm, rv = args
    if mode == 0:
        return y
    return F.batch_norm(y, rm, rv, g, e, mode == 1, factor, eps)


def test_norm_args_reproduce_torchs_batch_norm():
    y = torch.randn(6, 4, 1, 1, dtype=torch.float64)
    cases = [nn.BatchNorm2d(4), nn.BatchNorm2d(4, momentum=None),
             nn.BatchNorm2d(4, affine=False), nn.BatchNorm2d(4, track_running_stats=False)]
    for train in (True, False):
        for proto in cases:
            ours, ref = proto.double().train(train), None
            ref = type(ours)(4, momentum=ours.momentum, affine=ours.affine,
                             track_running_stats=ours.track_running_stats).double()
            ref.load_state_dict(ours.state_dict())
            ref.train(train)
            for _ in range(2):  # the second step: momentum=None's running average moves
                expected = ref(y)
                got = _bn_forward(ours, y, norm_args(ours, running=False))
                torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
            for k, v in ref.state_dict().items():
                assert torch.equal(ours.state_dict()[k], v), k
    assert norm_args(nn.Identity(), False)[0] == 0
    # the one-value fallback: running statistics in training, none updated
    bn = nn.BatchNorm2d(4).double().train()
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    mode, *_ = args = norm_args(bn, running=True)
    assert mode == 2
    _bn_forward(bn, y[:1], args)
    assert all(torch.equal(bn.state_dict()[k], v) for k, v in before.items())
