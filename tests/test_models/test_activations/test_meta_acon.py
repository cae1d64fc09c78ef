"""MetaAconC: generator structure, per-sample beta, values against the formula, errors."""
import copy
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmacon.models.activations import MetaAconC
from mmacon.models.activations.meta_acon import fit_num_groups
from mmacon.ops import BACKENDS
from tests.test_models.test_activations.empty_input import (DTYPES, EMPTY_SHAPES,
                                                            check_empty_input)
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


def with_running_stats(m, seed):
    g = torch.Generator().manual_seed(seed)
    for bn in (m.bn1, m.bn2):
        bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g, dtype=bn.running_mean.dtype))
        bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g, dtype=bn.running_var.dtype) + 0.5)
        bn.num_batches_tracked.fill_(7)
    return m


def test_batch_of_one_uses_running_stats_and_warns_once_naming_the_layer():
    act = with_running_stats(randomised(MetaAconC(16, reduction=4).double(), seed=8), seed=9)
    model = torch.nn.Sequential(OrderedDict(
        stem=torch.nn.Conv2d(3, 16, 1).double(), stage=torch.nn.Sequential(torch.nn.Identity(), act))).train()
    eval_copy = copy.deepcopy(act).eval()
    before = {k: v.clone() for k, v in act.state_dict().items()}
    x = torch.randn(1, 3, 5, 5, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = model(x)
        out.sum().backward()
        model(x)  # the same layer again: no second warning
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1, messages
    assert messages[0].startswith("MetaAconC 'stage.1': the generator's bn1 (BatchNorm, training mode) "
                                  'got a single value per channel (generator input of shape (1, 4, 1, 1)')
    assert 'uses its running statistics' in messages[0] and "norm_cfg=dict(type='GN'" in messages[0]
    feats = model.stem(x)
    torch.testing.assert_close(act.generate_beta(feats), eval_copy.generate_beta(feats), rtol=0, atol=0)
    torch.testing.assert_close(out, eval_copy(feats), rtol=0, atol=0)
    for k, v in act.state_dict().items():
        assert torch.equal(v, before[k]), k  # running stats (and num_batches_tracked) untouched
    assert act.training and act.bn1.training
    assert act.fc1.weight.grad.abs().sum() > 0 and act.p1.grad.abs().sum() > 0
    # a second layer warns for itself
    other = MetaAconC(16, reduction=4).train()
    with pytest.warns(UserWarning, match=r"^MetaAconC: the generator's bn1"):
        other(torch.randn(1, 16, 2, 2))


def test_batch_of_one_pixel_mode_falls_back_too():
    m = randomised(MetaAconC(4, mode='pixel').double(), seed=10).train()
    m.bn.running_mean.fill_(0.3)
    m.bn.running_var.fill_(2.0)
    x = torch.randn(1, 4, 1, 1, dtype=torch.float64)
    with pytest.warns(UserWarning, match=r"generator's bn \(BatchNorm, training mode\)"):
        got = m.generate_beta(x)
    y = F.conv2d(x, m.fc.weight, m.fc.bias)
    expected = torch.sigmoid((y - 0.3) / (2.0 + 1e-5) ** 0.5 * m.bn.weight + m.bn.bias)
    torch.testing.assert_close(got, expected.view(1, 1, 1, 1), rtol=0, atol=1e-12)


def test_batch_of_one_without_running_stats_says_where_norm_cfg_goes():
    m = MetaAconC(16, norm_cfg=dict(type='BN', track_running_stats=False)).train()
    with pytest.raises(ValueError) as info:
        torch.nn.Sequential(m)(torch.randn(1, 16, 8, 8))
    msg = str(info.value)
    assert msg.startswith("MetaAconC '0': the generator's bn1 (BatchNorm, training mode) got a single value")
    assert 'track_running_stats=False' in msg
    assert "act_cfg=dict(type='MetaAconC', norm_cfg=dict(type='GN', num_groups=...))" in msg
    assert 'norm_eval=True' in msg
    assert m(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8)  # two samples: batch statistics


@pytest.fixture
def restore_default_scope():
    """The Runner makes its default scope current for the process: drop it afterwards."""
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        DefaultScope._instance_dict.pop(name)


@pytest.mark.one_impl
def test_epoch_whose_last_batch_holds_one_image_trains_through(tmp_path, restore_default_scope):
    """mmengine Runner, EpochBasedTrainLoop, 3 images in batches of 2: the last holds one."""
    from mmengine.runner import Runner

    from mmacon.tiny_data import make_tiny_ade20k

    torch.set_num_threads(1)
    root = str(tmp_path / 'ade')
    make_tiny_ade20k(root, num_train=3, num_val=1, img_size=(64, 64), size_range=(12, 30))
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    cfg = dict(
        default_scope='mmseg', work_dir=str(tmp_path / 'work'), randomness=dict(seed=0),
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.7, 116.3, 103.5],
                                   std=[58.4, 57.1, 57.4], bgr_to_rgb=True, size=(64, 64)),
            backbone=dict(type='AconResNetV1c', depth=18, base_channels=8, stem_channels=8,
                          norm_eval=False, act_cfg=dict(type='MetaAconC')),
            decode_head=dict(type='FCNHead', in_channels=64, channels=8, num_convs=1, num_classes=4,
                             concat_input=False, in_index=3)),
        train_dataloader=dict(
            batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='ADE20KDataset', data_root=root, reduce_zero_label=True,
                         data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                         pipeline=pipeline)),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        log_level='WARNING')
    runner = Runner.from_cfg(Config(cfg))
    assert len(runner.train_dataloader.dataset) % 2 == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner.train()
    assert runner.iter == 2 and runner.epoch == 1
    acts = {n: m for n, m in runner.model.named_modules() if isinstance(m, MetaAconC)}
    assert len(acts) == 16
    warned = sorted(str(w.message).split(':')[0] for w in caught
                    if "the generator's bn1" in str(w.message))
    assert warned == sorted(f'MetaAconC {n!r}' for n in acts)  # once per layer, by path
    for name, m in acts.items():
        # the one-image batch left the generator statistics as the first batch set them
        assert m.bn1.num_batches_tracked.item() == 1 and m.bn2.num_batches_tracked.item() == 1, name
    assert runner.model.backbone.stem[1].num_batches_tracked.item() == 2  # spatial BN saw both
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


@pytest.mark.parametrize('norm_cfg,norm_type', [(dict(type='GN', num_groups=4), torch.nn.GroupNorm),
                                                (None, torch.nn.Identity)])
def test_norm_cfg_alternatives_train_with_one_sample(norm_cfg, norm_type):
    m = MetaAconC(32, norm_cfg=norm_cfg).train()
    assert isinstance(m.bn1, norm_type) and isinstance(m.bn2, norm_type)
    x = torch.randn(1, 32, 4, 4)
    m(x).sum().backward()
    assert m.fc1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('num_groups,channels,expected', [(32, 48, 24), (32, 8, 4), (32, 1, 1),
                                                          (32, 64, 32), (4, 7, 1), (6, 16, 4),
                                                          (32, 2, 1), (32, 16, 8)])
def test_fit_num_groups_is_largest_divisor_not_above(num_groups, channels, expected):
    assert fit_num_groups(num_groups, channels) == expected


def test_gn_groups_adapt_to_each_generator_width():
    # hidden = max(16, 48 // 16) = 16: 8 groups (two channels each); C = 48: 24 groups
    m = randomised(MetaAconC(48, norm_cfg=dict(type='GN', num_groups=32)).double(), seed=5).train()
    assert (m.bn1.num_groups, m.bn1.num_channels) == (8, 16)
    assert (m.bn2.num_groups, m.bn2.num_channels) == (24, 48)
    x = torch.randn(1, 48, 3, 3, dtype=torch.float64)  # one sample: GN needs no batch
    y = F.conv2d(x.mean((2, 3), keepdim=True), m.fc1.weight, m.fc1.bias)
    y = F.group_norm(y, 8, m.bn1.weight, m.bn1.bias, 1e-5)
    y = F.conv2d(y, m.fc2.weight, m.fc2.bias)
    y = F.group_norm(y, 24, m.bn2.weight, m.bn2.bias, 1e-5)
    torch.testing.assert_close(m.generate_beta(x), torch.sigmoid(y), rtol=0, atol=1e-12)
    pixel = MetaAconC(48, mode='pixel', norm_cfg=dict(type='GN', num_groups=32))
    assert (pixel.bn.num_groups, pixel.bn.num_channels) == (1, 1)
    built = build_activation_layer(dict(type='MetaAconC', channels=40,
                                        norm_cfg=dict(type=torch.nn.GroupNorm, num_groups=32)))
    assert (built.bn1.num_groups, built.bn2.num_groups) == (8, 20)


def test_gn_bad_num_groups_names_the_value():
    with pytest.raises(ValueError, match=r'`num_groups` must be a positive int, got 0'):
        MetaAconC(16, norm_cfg=dict(type='GN', num_groups=0))


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


# ---------------------------------------------------------------- the fused Triton node
# (mmacon/ops/triton_meta_acon.py; its own tests: tests/test_ops/test_triton_meta_acon.py)

def _triton_device():
    from mmacon.ops import triton_meta_acon
    if triton_meta_acon.available() is not None:
        pytest.skip(f'Triton cannot run here: {triton_meta_acon.available()}')
    return 'cuda' if torch.cuda.is_available() else 'cpu'  # CPU: TRITON_INTERPRET=1


@pytest.mark.one_impl
@pytest.mark.parametrize('channels_last', [False, True], ids=['nchw', 'nhwc'])
def test_triton_fused_node_takes_impl_triton_as_the_module_path(channels_last):
    """MetaAconC(impl='triton') runs the fused Triton node: output, every gradient and
    every buffer as the module path (impl='eager') in float64, two training steps."""
    device = _triton_device()
    m = randomised(MetaAconC(8, reduction=4, impl='triton'), seed=3).to(device).double()
    ref = copy.deepcopy(m)
    ref.impl = 'eager'
    x = torch.randn(2, 8, 3, 5, dtype=torch.float64, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    assert m._fused(x) == ('triton', None) and m.explain_fused(x) is None
    for _ in range(2):
        got, expected = [], []
        for mod, out in ((m, got), (ref, expected)):
            mod.zero_grad()
            xi = x.clone().requires_grad_()
            y = mod(xi)
            y.square().sum().backward()
            out += [y, xi.grad] + [p.grad for p in mod.parameters()] + list(mod.buffers())
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert int(m.bn2.num_batches_tracked) == 2


@pytest.mark.one_impl
def test_fused_node_choice_by_device_and_impl():
    """CPU: the C++ node for 'auto'/'cpp', the Triton one (interpreter) for 'triton',
    also through set_default_impl; CUDA: the Triton one for 'auto'."""
    from mmacon.ops import default_impl, triton_meta_acon
    if triton_meta_acon.available() is not None:
        pytest.skip(f'Triton cannot run here: {triton_meta_acon.available()}')
    x = torch.randn(2, 8, 3, 3)
    m = MetaAconC(8, impl='auto')
    assert m._fused(x)[0] == 'cpp'
    with default_impl('triton'):
        assert m._fused(x)[0] == 'triton'
    assert MetaAconC(8, impl='triton')._fused(x)[0] == 'triton'
    assert "impl='eager'" in MetaAconC(8, impl='eager').explain_fused(x)
    if torch.cuda.is_available():
        assert m.cuda()._fused(x.cuda())[0] == 'triton'


@pytest.mark.one_impl
def test_triton_fused_node_batch_of_one_warns_and_uses_running_stats():
    device = _triton_device()
    m = randomised(MetaAconC(8, reduction=4, impl='triton'), seed=3).to(device).double()
    ref = copy.deepcopy(m)
    ref.impl = 'eager'
    x = torch.randn(1, 8, 3, 5, dtype=torch.float64, device=device)
    with pytest.warns(UserWarning, match=r"generator's bn1 .* single value per channel"):
        y = m(x)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.testing.assert_close(y, ref(x), rtol=1e-10, atol=1e-10)
    assert int(m.bn1.num_batches_tracked) == 0


# ---------------------------------------------------------------- inputs without elements
NORM_CFGS = {'BN': dict(type='BN'), 'GN': dict(type='GN', num_groups=2), 'none': None}


def with_any_running_stats(m, seed):
    """Random running statistics and num_batches_tracked = 7 in every BN of ``m``."""
    g = torch.Generator().manual_seed(seed)
    for bn in m.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g))
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g) + 0.5)
            bn.num_batches_tracked.fill_(7)
    return m


@pytest.mark.one_impl
@pytest.mark.parametrize('impl', ['reference', 'eager', 'cpp', 'triton'])
@pytest.mark.parametrize('dtype', DTYPES, ids=str)
def test_empty_input_every_mode_norm_and_state(dtype, impl):
    """N, H or W = 0, every mode, BN/GN/no norm, train and eval: empty output and x grad,
    zero parameter grads (the generator's too), no statistic moved, no warning."""
    if impl == 'triton' and BACKENDS['triton'].available() is not None:
        pytest.skip(f"impl='triton': {BACKENDS['triton'].available()}")
    for mode in ('channel', 'layer', 'pixel'):
        for norm, norm_cfg in NORM_CFGS.items():
            for training in (True, False):
                for shape in EMPTY_SHAPES:
                    m = MetaAconC(4, reduction=2, mode=mode, norm_cfg=norm_cfg, impl=impl)
                    m = with_any_running_stats(randomised(m, seed=3), seed=4).train(training)
                    check_empty_input(m, shape, dtype)


@pytest.mark.one_impl
@pytest.mark.parametrize('mode,shape', [('channel', (0, 4, 1, 1)), ('layer', (0, 1, 1, 1)),
                                        ('pixel', (0, 1, 5, 3))])
def test_empty_input_beta_has_the_mode_shape(mode, shape):
    m = MetaAconC(4, reduction=2, mode=mode).train()
    beta = m.generate_beta(torch.randn(0, 4, 5, 3))
    assert beta.shape == shape and beta.dtype == torch.float32
    n_beta = m.generate_beta(torch.randn(2, 4, 0, 3))  # N > 0, no positions
    assert n_beta.shape == (2,) + shape[1:2] + ((0, 3) if mode == 'pixel' else (1, 1))
    assert torch.equal(n_beta, torch.zeros_like(n_beta))  # finite: no mean of nothing


@pytest.mark.one_impl
def test_empty_batch_takes_the_module_path_where_fused_would_run():
    m = with_running_stats(randomised(MetaAconC(8, reduction=2), seed=5), seed=6).train()
    if BACKENDS['cpp'].available() is None:
        assert m.explain_fused(torch.randn(2, 8, 3, 3)) is None
    assert 'non-empty' in m.explain_fused(torch.randn(0, 8, 3, 3))
    fresh = copy.deepcopy(m)
    check_empty_input(m, (0, 8, 3, 3), torch.float32)
    # the next real batch is normalised and counted as if the empty one never came
    x = torch.randn(3, 8, 3, 3)
    torch.testing.assert_close(m(x), fresh(x), rtol=0, atol=0)
    assert int(m.bn1.num_batches_tracked) == int(fresh.bn1.num_batches_tracked) == 8


@pytest.mark.one_impl
def test_empty_batch_leaves_bn_counters_where_torch_bn_would_count():
    """torch's BatchNorm2d in training counts an empty batch in num_batches_tracked (its
    running mean and variance stay); the generator's BNs do not count it."""
    bn = torch.nn.BatchNorm2d(4).train()
    bn(torch.randn(0, 4, 1, 1))
    assert int(bn.num_batches_tracked) == 1
    m = MetaAconC(4, reduction=2).train()
    m(torch.randn(0, 4, 5, 5))
    assert int(m.bn1.num_batches_tracked) == int(m.bn2.num_batches_tracked) == 0


@pytest.mark.parametrize('shape', [(0, 4, 3, 3), (2, 4, 0, 3), (1, 4, 3, 0)])
def test_pixel_mode_no_single_value_warning_on_zero_values(shape, recwarn):
    m = MetaAconC(4, mode='pixel').train()
    m(torch.randn(shape)).sum().backward()
    assert [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)] == []
    # one real value per channel still warns
    with pytest.warns(UserWarning, match='got a single value per channel'):
        m(torch.randn(1, 4, 1, 1))


@pytest.mark.one_impl
def test_gn_without_num_groups_names_it():
    for mode in ('channel', 'pixel'):
        with pytest.raises(ValueError) as info:
            MetaAconC(16, mode=mode, norm_cfg=dict(type='GN'))
        assert isinstance(info.value, AssertionError)  # what mmcv's build_norm_layer raises
        assert str(info.value) == (
            "MetaAconC: norm_cfg={'type': 'GN'} needs `num_groups`, e.g. "
            "norm_cfg=dict(type='GN', num_groups=32) (each of its norms takes the largest "
            'divisor of its width not above it)')
    MetaAconC(16, mode='layer', norm_cfg=dict(type='GN'))  # the layer-wise generator has no norm


@pytest.mark.one_impl
def test_gn_without_num_groups_in_a_backbone_names_it():
    from mmengine.registry import MODELS
    with pytest.raises(AssertionError) as info:
        MODELS.build(dict(type='AconResNet', depth=18,
                          act_cfg=dict(type='MetaAconC', norm_cfg=dict(type='GN'))))
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert msg.startswith("AconResNet: act_cfg={'type': 'MetaAconC', 'norm_cfg': {'type': 'GN'}} "
                          'cannot be built at 64 channels: MetaAconC: ')
    assert msg.endswith("needs `num_groups`, e.g. norm_cfg=dict(type='GN', num_groups=32) (each "
                        'of its norms takes the largest divisor of its width not above it)')


def _ddp_worker(rank, store, batches):
    """Rank 0 gets empty batches, rank 1 real ones; DDP without find_unused_parameters.

    Ends with ``os._exit``: tearing down DDP's reducer and the gloo group in a finishing
    process sometimes deadlocks (the destructor joins gloo's thread while holding the GIL
    that thread waits for), which is torch's teardown, not what this test is about.
    """
    import datetime
    import os
    import sys
    import traceback

    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'file://{store}', rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=60))
    try:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(4, 8, 1), MetaAconC(8, reduction=2),
                                  torch.nn.Conv2d(8, 8, 1), MetaAconC(8, mode='pixel'),
                                  torch.nn.Conv2d(8, 8, 1), MetaAconC(8, mode='layer'))
        ref = copy.deepcopy(net)
        ddp = torch.nn.parallel.DistributedDataParallel(net)
        for x in batches:  # "finished reduction in the prior iteration" shows at the 2nd
            x = x if rank == 1 else x[:0]
            net.zero_grad()
            ref.zero_grad()
            ddp(x).sum().backward()
            ref(x).sum().backward()
            for (name, p), r in zip(net.named_parameters(), ref.parameters()):
                if rank == 0:  # an empty batch: zero gradients, not None
                    assert torch.equal(r.grad, torch.zeros_like(r)), name
                else:  # DDP's mean over the ranks: (0 + own) / 2
                    torch.testing.assert_close(p.grad, r.grad / 2)
            # rank 0 holds that mean too: the reduction ran for every bucket
            assert all(torch.isfinite(p.grad).all() for p in net.parameters())
            assert net[0].weight.grad.abs().sum() > 0 and net[5].p1.grad.abs().sum() > 0
        dist.barrier()
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)


@pytest.mark.one_impl
def test_ddp_with_an_empty_batch_on_one_rank(tmp_path):
    """A rank with zero RoIs still gives DDP every gradient (zeros): no missed reduction."""
    import time

    import torch.multiprocessing as mp
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(3, 4, 5, 5, generator=g) for _ in range(2)]
    ctx = mp.start_processes(_ddp_worker, args=(str(tmp_path / 'store'), batches), nprocs=2,
                             join=False, start_method='spawn')
    deadline = time.monotonic() + 180
    while not ctx.join(timeout=1):  # raises when a rank fails (its traceback on stderr)
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail('the 2-process DDP run did not finish in 180 s')
