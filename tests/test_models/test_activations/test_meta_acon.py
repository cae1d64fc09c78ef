"""MetaAconC: generator structure, per-sample beta, values against the formula, errors."""
import numpy as np
import pytest
import torch

from mmacon.models.activations import MetaAconC
from tests.test_models.test_activations.test_acon import numpy_acon_c

# every test here runs once per ACON-C implementation (conftest.py)
pytestmark = pytest.mark.usefixtures('acon_impl')


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_bn_train(y, gamma, beta, eps):
    """BatchNorm in training mode over (N, H, W) per channel, float64."""
    mean = y.mean(axis=(0, 2, 3), keepdims=True)
    var = y.var(axis=(0, 2, 3), keepdims=True)
    return (y - mean) / np.sqrt(var + eps) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)


def numpy_conv1x1(y, weight, bias):
    return np.einsum('oc,nchw->nohw', weight[:, :, 0, 0], y) + bias.reshape(1, -1, 1, 1)


def params(m):
    return {k: v.detach().numpy() for k, v in m.state_dict().items()}


def randomised(m, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return m


def test_state_dict_names_and_shapes_match_official():
    m = MetaAconC(64)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes == {
        'p1': (1, 64, 1, 1), 'p2': (1, 64, 1, 1),
        'fc1.weight': (16, 64, 1, 1), 'fc1.bias': (16,),
        'bn1.weight': (16,), 'bn1.bias': (16,), 'bn1.running_mean': (16,),
        'bn1.running_var': (16,), 'bn1.num_batches_tracked': (),
        'fc2.weight': (64, 16, 1, 1), 'fc2.bias': (64,),
        'bn2.weight': (64,), 'bn2.bias': (64,), 'bn2.running_mean': (64,),
        'bn2.running_var': (64,), 'bn2.num_batches_tracked': (),
    }


@pytest.mark.parametrize('channels,reduction,hidden', [(64, 16, 16), (512, 16, 32), (2048, 16, 128),
                                                        (48, 8, 8), (1024, 8, 128)])
def test_hidden_width_is_max_r_c_over_r(channels, reduction, hidden):
    m = MetaAconC(channels, reduction=reduction)
    assert m.fc1.out_channels == hidden and m.fc2.in_channels == hidden
    # p1, p2, fc1 (+bias), bn1 (affine), fc2 (+bias), bn2 (affine)
    expected = 2 * channels + (channels * hidden + hidden) + 2 * hidden \
        + (hidden * channels + channels) + 2 * channels
    assert sum(p.numel() for p in m.parameters()) == expected


def test_channel_mode_matches_formula_float64():
    m = randomised(MetaAconC(32, reduction=4).double(), seed=1).train()
    x = torch.randn(3, 32, 5, 6, dtype=torch.float64)
    w = params(m)
    y = x.numpy().mean(axis=(2, 3), keepdims=True)
    y = numpy_bn_train(numpy_conv1x1(y, w['fc1.weight'], w['fc1.bias']), w['bn1.weight'], w['bn1.bias'], 1e-5)
    y = numpy_bn_train(numpy_conv1x1(y, w['fc2.weight'], w['fc2.bias']), w['bn2.weight'], w['bn2.bias'], 1e-5)
    beta = sigmoid(y)
    np.testing.assert_allclose(m.generate_beta(x).detach().numpy(), beta, rtol=0, atol=1e-12)
    expected = numpy_acon_c(x.numpy(), w['p1'], w['p2'], beta)
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=0, atol=1e-12)


def test_layer_and_pixel_modes_match_formula_float64():
    x = torch.randn(2, 8, 4, 5, dtype=torch.float64)
    m = randomised(MetaAconC(8, mode='layer').double(), seed=2)
    w = params(m)
    beta = sigmoid(x.numpy().mean(axis=(1, 2, 3), keepdims=True) * w['fc.weight'].item() + w['fc.bias'].item())
    np.testing.assert_allclose(m(x).detach().numpy(), numpy_acon_c(x.numpy(), w['p1'], w['p2'], beta),
                               rtol=0, atol=1e-12)

    m = randomised(MetaAconC(8, mode='pixel').double(), seed=3).train()
    w = params(m)
    y = numpy_bn_train(numpy_conv1x1(x.numpy(), w['fc.weight'], w['fc.bias']), w['bn.weight'], w['bn.bias'], 1e-5)
    np.testing.assert_allclose(m(x).detach().numpy(), numpy_acon_c(x.numpy(), w['p1'], w['p2'], sigmoid(y)),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize('mode,shape', [('channel', (4, 16, 1, 1)), ('layer', (4, 1, 1, 1)),
                                        ('pixel', (4, 1, 7, 5))])
def test_beta_shape_per_mode_and_differs_between_samples(mode, shape):
    torch.manual_seed(0)
    m = MetaAconC(16, reduction=4, mode=mode).eval()
    x = torch.randn(4, 16, 7, 5) * torch.arange(1, 5).view(4, 1, 1, 1)
    beta = m.generate_beta(x)
    assert beta.shape == shape
    assert ((beta > 0) & (beta < 1)).all()
    per_sample = beta.flatten(1)
    for i in range(1, 4):
        assert not torch.allclose(per_sample[0], per_sample[i])


@pytest.mark.parametrize('mode', ['channel', 'layer', 'pixel'])
def test_gradcheck_every_mode(mode):
    m = randomised(MetaAconC(4, reduction=2, mode=mode).double(), seed=4).train()
    x = torch.randn(3, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,))


def test_gradients_reach_generator_and_slopes():
    m = MetaAconC(16, reduction=4).double().train()
    m(torch.randn(2, 16, 6, 6, dtype=torch.float64)).square().sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        if name in ('fc1.bias', 'fc2.bias'):
            # each feeds a BN in training mode, which subtracts the batch mean: zero gradient
            assert p.grad.abs().max() < 1e-10, name
        else:
            assert p.grad.abs().sum() > 0, name


def test_one_sample_with_batchnorm_raises_clear_error():
    m = MetaAconC(16).train()
    with pytest.raises(ValueError, match=r"single value per channel.*GN.*SyncBN.*norm_cfg=None"):
        m(torch.randn(1, 16, 8, 8))
    m.eval()  # running statistics: one sample is fine
    assert m(torch.randn(1, 16, 8, 8)).shape == (1, 16, 8, 8)


@pytest.mark.parametrize('norm_cfg,norm_type', [(dict(type='GN', num_groups=4), torch.nn.GroupNorm),
                                                (None, torch.nn.Identity)])
def test_norm_cfg_alternatives_train_with_one_sample(norm_cfg, norm_type):
    m = MetaAconC(32, norm_cfg=norm_cfg).train()
    assert isinstance(m.bn1, norm_type) and isinstance(m.bn2, norm_type)
    x = torch.randn(1, 32, 4, 4)
    m(x).sum().backward()
    assert m.fc1.weight.grad.abs().sum() > 0


def test_syncbn_generator_builds():
    m = MetaAconC(32, norm_cfg=dict(type='SyncBN'))
    assert isinstance(m.bn1, torch.nn.SyncBatchNorm)


def test_unknown_mode_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown mode 'spatial', valid: \('channel', 'layer', 'pixel'\)"):
        MetaAconC(8, mode='spatial')


def test_bad_reduction():
    with pytest.raises(ValueError, match=r'`reduction` must be a positive int, got 0'):
        MetaAconC(8, reduction=0)


def test_input_checks_name_the_values():
    m = MetaAconC(8)
    with pytest.raises(ValueError, match=r'built for 8 channels but got an input with 3 channels'):
        m(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r'expects a 4-D \(N, C, H, W\) input, got a 3-D tensor of shape \(2, 8, 4\)'):
        m(torch.randn(2, 8, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('mode', ['channel', 'layer', 'pixel'])
def test_cuda_matches_cpu(mode):
    m = randomised(MetaAconC(32, mode=mode), seed=7).train()
    x = torch.randn(2, 32, 16, 16)
    torch.testing.assert_close(m.cuda()(x.cuda()).cpu(), m.cpu()(x), rtol=1e-5, atol=1e-6)
