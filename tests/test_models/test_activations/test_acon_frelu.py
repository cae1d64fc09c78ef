"""AconFReLU: the official TFNet form, a learnable beta, strides, names."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmacon.models.activations import AconFReLU
from tests.test_models.test_activations.empty_input import (DTYPES, EMPTY_SHAPES,
                                                            check_empty_input)


@torch.no_grad()
def reference(m, x, beta=1.0):
    """Official TFNet ACON-FReLU written out with torch primitives in float64."""
    t = F.conv2d(x, m.conv_frelu.weight, m.conv_frelu.bias, stride=m.stride, padding=1, groups=x.size(1))
    t = F.batch_norm(t, m.bn1.running_mean, m.bn1.running_var, m.bn1.weight, m.bn1.bias, False, 0.0, m.bn1.eps)
    x1 = x if m.stride == 1 else F.max_pool2d(x, 3, 2, 1)
    d = (x1 - t).numpy()
    s = d / (1 + np.exp(-np.asarray(beta) * d)) + t.numpy()
    s = torch.from_numpy(s)
    return F.batch_norm(s, m.bn2.running_mean, m.bn2.running_var, m.bn2.weight, m.bn2.bias, False, 0.0, m.bn2.eps)


def randomised(m, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(m.parameters()) + [b for n, b in m.named_buffers() if n.endswith('running_mean')]:
            t.copy_(torch.randn(t.shape, generator=g, dtype=t.dtype) * 0.5)
        for t in [b for n, b in m.named_buffers() if n.endswith('running_var')]:
            t.copy_(torch.rand(t.shape, generator=g, dtype=t.dtype) + 0.5)
    return m


@pytest.mark.parametrize('stride', [1, 2])
def test_official_form_matches_reference(stride):
    m = randomised(AconFReLU(6, stride=stride).double().eval(), seed=stride)
    x = torch.randn(2, 6, 9, 8, dtype=torch.float64)
    y = m(x)
    assert y.shape == (2, 6, 9 // stride + (9 % stride), 8 // stride)
    torch.testing.assert_close(y, reference(m, x), rtol=0, atol=1e-12)


def test_learnable_beta_matches_reference_and_gradchecks():
    m = randomised(AconFReLU(4, learnable_beta=True).double().eval(), seed=3)
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(m(x), reference(m, x, m.beta.detach().numpy()), rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(m, (x.requires_grad_(),))


def test_state_dict_names_match_official_tfnet():
    keys = set(AconFReLU(8, stride=2).state_dict())
    assert keys == {f'{p}.{s}' for p in ('bn1', 'bn2') for s in
                    ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')} \
        | {'conv_frelu.weight', 'conv_frelu.bias'}
    assert 'beta' in AconFReLU(8, learnable_beta=True).state_dict()
    assert not any(k.startswith('bn2') for k in AconFReLU(8, out_norm=False).state_dict())


def test_large_beta_gives_frelu_max():
    m = randomised(AconFReLU(4, learnable_beta=True, out_norm=False).double().eval(), seed=5)
    with torch.no_grad():
        m.beta.fill_(1e5)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(m(x), torch.maximum(x, m.spatial_condition(x)), rtol=0, atol=1e-4)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r'stride must be 1 or 2, got 3'):
        AconFReLU(4, stride=3)
    with pytest.raises(ValueError, match=r'built for 4 channels but got an input with 2 channels'):
        AconFReLU(4)(torch.randn(1, 2, 4, 4))


def test_gn_groups_adapt_to_channels():
    m = AconFReLU(24, norm_cfg=dict(type='GN', num_groups=16))
    assert (m.bn1.num_groups, m.bn2.num_groups) == (12, 12)
    x = torch.randn(1, 24, 5, 5)
    assert m(x).shape == (1, 24, 5, 5)


# ---------------------------------------------------------------- inputs without elements
@pytest.mark.parametrize('dtype', DTYPES, ids=str)
@pytest.mark.parametrize('stride', [1, 2])
def test_empty_input_forward_backward(stride, dtype):
    """N, H or W = 0, train and eval, BN/GN/no norm, learnable beta: the shape the module
    gives a full input of that size, zero parameter grads, BN statistics unchanged."""
    for norm_cfg in (dict(type='BN'), dict(type='GN', num_groups=2), None):
        for learnable_beta in (False, True):
            for training in (True, False):
                for shape in EMPTY_SHAPES + ((0, 4, 0, 0),):
                    m = randomised(AconFReLU(4, stride=stride, learnable_beta=learnable_beta,
                                             norm_cfg=norm_cfg), seed=stride).train(training)
                    full = [max(d, 1) for d in shape]  # the output size for this H and W
                    with torch.no_grad():
                        out = list(copy.deepcopy(m).eval()(torch.randn(full)).shape)
                    out = [0 if d == 0 else o for d, o in zip(shape, out)]
                    check_empty_input(m, shape, dtype, out_shape=out)


def test_gn_without_num_groups_names_it():
    with pytest.raises(ValueError, match=r"^AconFReLU: norm_cfg=\{'type': 'GN'\} needs "
                                         r'`num_groups`, e\.g\. norm_cfg=dict\(type=\'GN\', '
                                         r'num_groups=32\)') as info:
        AconFReLU(16, norm_cfg=dict(type='GN'))
    assert isinstance(info.value, AssertionError)
