"""tools/model_converters/acon2mmacon.py: official ACON checkpoints -> mmacon backbones.

No official checkpoint can be downloaded here, so the tests write checkpoints in the
official layout themselves: the key lists below are stated independently from the
release's structure (torchvision-style ResNet, ``acon`` after conv2/bn2, biases on every
conv, ``fc`` classifier, ``module.`` from DataParallel, ``{'state_dict': ...}``), and
filled with the tensors of a randomly initialised model.
"""
import os
import os.path as osp

import pytest
import torch

from mmacon.models import AconResNet
from tests.test_tools.tool_helpers import load_tool

conv_tool = load_tool('tools/model_converters/acon2mmacon.py')

BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
STAGES = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def official_resnet_keys(depth, act):
    """Key names of the official ResNet-ACON / Meta-ACON checkpoints (no ``module.``)."""
    keys = ['conv1.weight', 'conv1.bias'] + [f'bn1.{k}' for k in BN]
    for stage, blocks in enumerate(STAGES[depth], 1):
        for b in range(blocks):
            p = f'layer{stage}.{b}.'
            for i in (1, 2, 3):
                keys += [f'{p}conv{i}.weight', f'{p}conv{i}.bias']
                keys += [f'{p}bn{i}.{k}' for k in BN]
            if act == 'AconC':
                keys += [f'{p}acon.p1', f'{p}acon.p2', f'{p}acon.beta']
            else:
                keys += [f'{p}acon.fc1.weight', f'{p}acon.fc1.bias', f'{p}acon.fc2.weight',
                         f'{p}acon.fc2.bias', f'{p}acon.p1', f'{p}acon.p2']
                keys += [f'{p}acon.bn1.{k}' for k in BN] + [f'{p}acon.bn2.{k}' for k in BN]
            if b == 0:
                keys += [f'{p}downsample.0.weight', f'{p}downsample.0.bias']
                keys += [f'{p}downsample.1.{k}' for k in BN]
    return keys + ['fc.weight', 'fc.bias']


def randomise(model, seed=0):
    """Non-trivial values everywhere: BN statistics, biases, p1/p2/beta."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith(('p1', 'p2', 'beta')):
                t.copy_(torch.randn(t.shape, generator=gen))
            else:
                scale = (2.0 / max(t[0].numel(), 1)) ** 0.5 if t.dim() > 1 else 0.1
                t.copy_(torch.randn(t.shape, generator=gen) * scale)
    return model


def official_checkpoint(model, depth, act, path):
    """Write ``model``'s tensors as the official release would: DataParallel + fc."""
    own = model.state_dict()
    keys = official_resnet_keys(depth, act)
    assert set(keys) - {'fc.weight', 'fc.bias'} == set(own), \
        'mmacon key layout differs from the official one'
    sd = {f'module.{k}': own[k].clone() for k in keys if not k.startswith('fc.')}
    sd['module.fc.weight'] = torch.randn(1000, 2048)
    sd['module.fc.bias'] = torch.randn(1000)
    torch.save({'state_dict': sd}, path)
    return sd


def test_resnet50_metaacon_round_trip(tmp_path, capsys):
    """Official-layout R-50 Meta-ACON -> convert -> Pretrained init_cfg -> same outputs."""
    src, dst = str(tmp_path / 'res50.metaacon.pth'), str(tmp_path / 'res50.metaacon_mmacon.pth')
    ref = randomise(AconResNet(depth=50, style='caffe', conv_bias=True,
                               act_cfg=dict(type='MetaAconC'))).eval()
    official_checkpoint(ref, 50, 'MetaAconC', src)

    assert conv_tool.main([src, dst]) == 0
    out = capsys.readouterr().out
    assert "dict(type='AconResNet', depth=50, style='caffe', conv_bias=True, " \
           "act_cfg=dict(type='MetaAconC', reduction=16))" in out
    assert "dropped classifier keys (2): ['fc.weight', 'fc.bias']" in out
    assert 'BGR' in out and '0-255' in out and 'no mean/std' in out
    assert 'verified' in out

    saved = torch.load(dst, weights_only=True)
    assert not any(k.startswith(('module.', 'fc.')) for k in saved['state_dict'])
    assert saved['meta']['backbone_cfg']['depth'] == 50

    model = AconResNet(depth=50, style='caffe', conv_bias=True,
                       act_cfg=dict(type='MetaAconC'),
                       init_cfg=dict(type='Pretrained', checkpoint=dst))
    model.init_weights()
    model.eval()
    # Loading strictly too: no missing or unexpected backbone keys.
    result = model.load_state_dict(saved['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.rand(2, 3, 64, 64) * 255
    with torch.no_grad():
        for a, b in zip(ref(x), model(x)):
            assert torch.equal(a, b)


def test_aconc_and_depths_from_stated_keys():
    """ACON-C and the 101/152 layouts are recognised from the stated key lists alone."""
    for depth in (50, 101, 152):
        for act in ('AconC', 'MetaAconC'):
            keys = official_resnet_keys(depth, act)
            sd = {f'module.{k}': torch.empty(0) for k in keys}
            if act == 'MetaAconC':  # the generator shapes carry the reduction
                for k in keys:
                    if k.endswith('acon.fc1.weight'):
                        stage = int(k[5])
                        c = 64 * 2 ** (stage - 1)
                        sd[f'module.{k}'] = torch.empty(max(16, c // 16), c, 1, 1)
            converted, info = conv_tool.convert(sd)
            cfg = info['backbone_cfg']
            assert cfg['depth'] == depth and cfg['conv_bias'] is True
            assert cfg['style'] == 'caffe'
            expected = dict(type='AconC') if act == 'AconC' else \
                dict(type='MetaAconC', reduction=16)
            assert cfg['act_cfg'] == expected
            assert sorted(info['dropped']) == ['fc.bias', 'fc.weight']
            assert len(converted) == len(keys) - 2


def test_aconc_r50_verifies_against_backbone():
    ref = AconResNet(depth=50, style='caffe', conv_bias=True, act_cfg=dict(type='AconC'))
    keys = official_resnet_keys(50, 'AconC')
    own = ref.state_dict()
    sd = {k: own[k] for k in keys if not k.startswith('fc.')}
    converted, info = conv_tool.convert(sd)
    report = conv_tool.verify(converted, info['backbone_cfg'])
    assert report == dict(missing=[], unexpected=[], shape=[])


def _tiny_resnet_sd():
    # A BasicBlock ResNet-18 at 8 base channels: no official model, but the same layout.
    model = AconResNet(depth=18, base_channels=8, style='caffe', conv_bias=True,
                       act_cfg=dict(type='AconC'))
    return model, model.state_dict()


@pytest.mark.parametrize('wrap', ['bare', 'model', 'state_dict', 'double_module'])
def test_wrappers_and_prefixes(tmp_path, wrap, capsys):
    model, sd = _tiny_resnet_sd()
    if wrap == 'bare':
        ckpt = dict(sd)
    elif wrap == 'model':
        ckpt = {'model': {f'module.{k}': v for k, v in sd.items()}, 'epoch': 3}
    elif wrap == 'state_dict':
        ckpt = {'state_dict': {f'module.{k}': v for k, v in sd.items()}, 'meta': {'a': 1}}
    else:
        ckpt = {'state_dict': {f'module.module.{k}': v for k, v in sd.items()}}
    src, dst = str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')
    torch.save(ckpt, src)
    assert conv_tool.main([src, dst]) == 0
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert set(saved) == set(sd)
    out = capsys.readouterr().out
    assert "depth=18" in out and "base_channels=8" in out


def test_prefix_option(tmp_path):
    _, sd = _tiny_resnet_sd()
    src, dst = str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')
    torch.save({'state_dict': sd}, src)
    assert conv_tool.main([src, dst, '--prefix', 'backbone.']) == 0
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert all(k.startswith('backbone.') for k in saved)


def test_unmatched_keys_are_reported(tmp_path, capsys):
    _, sd = _tiny_resnet_sd()
    sd = dict(sd)
    del sd['layer2.0.acon1.p1']
    sd['layer2.0.extra.weight'] = torch.zeros(3)
    src, dst = str(tmp_path / 'src.pth'), str(tmp_path / 'dst.pth')
    torch.save({'state_dict': sd}, src)
    assert conv_tool.main([src, dst]) == 1
    err = capsys.readouterr().err
    assert 'missing' in err and 'layer2.0.acon1.p1' in err
    assert 'unexpected' in err and 'layer2.0.extra.weight' in err
    assert 'nothing written' in err
    assert not osp.exists(dst)
    # --no-verify writes anyway, with warnings.
    assert conv_tool.main([src, dst, '--no-verify']) == 0
    assert osp.exists(dst)


def test_missing_and_malformed_checkpoints(tmp_path, capsys):
    dst = str(tmp_path / 'dst.pth')
    assert conv_tool.main([str(tmp_path / 'nope.pth'), dst]) == 1
    assert 'checkpoint not found' in capsys.readouterr().err

    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'this is not a checkpoint' * 10)
    assert conv_tool.main([str(garbage), dst]) == 1
    assert 'is not a PyTorch checkpoint' in capsys.readouterr().err

    torch.save({'meta': {'epoch': 1}, 'optimizer': 3}, tmp_path / 'nostate.pth')
    assert conv_tool.main([str(tmp_path / 'nostate.pth'), dst]) == 1
    assert 'not look like a state dict' in capsys.readouterr().err

    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, tmp_path / 'other.pth')
    assert conv_tool.main([str(tmp_path / 'other.pth'), dst]) == 1
    assert 'cannot recognise the architecture' in capsys.readouterr().err
    assert not osp.exists(dst)


class _Payload:
    """Pickles as a call to os.makedirs: must never run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path, ))


def test_refuses_pickled_objects(tmp_path, capsys):
    marker = str(tmp_path / 'payload_ran')
    _, sd = _tiny_resnet_sd()
    src = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': dict(sd), 'extra': _Payload(marker)}, src)
    assert conv_tool.main([src, str(tmp_path / 'dst.pth')]) == 1
    err = capsys.readouterr().err
    assert 'refusing to load' in err and 'weights_only=True' in err
    assert 'makedirs' in err
    assert not osp.exists(marker)


def test_training_checkpoint_with_numpy_meta_loads(tmp_path):
    """mmengine runner checkpoints (numpy / HistoryBuffer in meta) pass the allowlist."""
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('acon2mmacon_test')
    hub.update_scalar('train/loss', 1.5)
    _, sd = _tiny_resnet_sd()
    src = str(tmp_path / 'run.pth')
    torch.save({'state_dict': dict(sd), 'message_hub': hub.state_dict(),
                'meta': {'seed': np.int64(3), 'arr': np.zeros(2)}}, src)
    assert conv_tool.main([src, str(tmp_path / 'dst.pth')]) == 0


def test_shufflenet_and_tfnet_layouts_are_recognised(tmp_path, capsys):
    """Official ShuffleNetV2 Meta-ACON 0.5x / TFNet 0.5 layouts: arch, width, reduction."""
    shuffle = {'module.first_conv.0.weight': torch.zeros(24, 3, 3, 3),
               'module.first_conv.2.fc1.weight': torch.zeros(8, 24, 1, 1),
               'module.first_conv.2.p1': torch.zeros(1, 24, 1, 1),
               'module.features.0.branch_main.2.fc1.weight': torch.zeros(8, 24, 1, 1),
               'module.features.0.branch_main.2.p1': torch.zeros(1, 24, 1, 1),
               'module.conv_last.0.weight': torch.zeros(1024, 192, 1, 1),
               'module.conv_last.2.fc1.weight': torch.zeros(128, 1024, 1, 1),
               'module.classifier.0.weight': torch.zeros(1000, 1024)}
    converted, info = conv_tool.convert(shuffle)
    assert info['arch'] == 'shufflenetv2'
    assert info['backbone_cfg'] == dict(type='AconShuffleNetV2', widen_factor=0.5,
                                        act_cfg=dict(type='MetaAconC', reduction=8))
    assert 'classifier.0.weight' not in converted and 'first_conv.0.weight' in converted
    tfnet = {'first_conv.0.weight': torch.zeros(8, 3, 3, 3),
             'features.0.branch_main.2.conv_frelu.weight': torch.zeros(16, 1, 3, 3),
             'features.0.acon.conv_frelu.weight': torch.zeros(32, 1, 3, 3),
             'classifier.0.weight': torch.zeros(1000, 1024)}
    converted, info = conv_tool.convert(tfnet)
    assert info['arch'] == 'tfnet' and info['backbone_cfg']['widen_factor'] == 0.5
    assert list(converted) == ['first_conv.0.weight',
                               'features.0.branch_main.2.conv_frelu.weight',
                               'features.0.acon.conv_frelu.weight']
    # A partial layout never verifies: nothing is written.
    src, dst = str(tmp_path / 'tf.pth'), str(tmp_path / 'dst.pth')
    torch.save({'state_dict': tfnet}, src)
    assert conv_tool.main([src, dst]) == 1
    assert not osp.exists(dst)


# ----------------------------------------------------------------------------- ShuffleNetV2 / TFNet
# Official layouts, stated from the release's structure (not read off the mmacon modules).
META_ACON = (['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'p1', 'p2']
             + [f'bn1.{k}' for k in BN] + [f'bn2.{k}' for k in BN])
ACON_FRELU = ['conv_frelu.weight', 'conv_frelu.bias'] + [f'bn1.{k}' for k in BN] \
    + [f'bn2.{k}' for k in BN]


def _conv_bn(prefix, conv, bn):
    return [f'{prefix}{conv}.weight', f'{prefix}{conv}.bias'] + \
        [f'{prefix}{bn}.{k}' for k in BN]


def _strides(repeats):
    return [2 if i == 0 else 1 for n in repeats for i in range(n)]


def official_shufflenet_keys():
    """ShuffleNetV2 Meta-ACON (every ReLU a MetaAconC, convs with bias), no ``module.``."""
    keys = _conv_bn('first_conv.', 0, 1) + [f'first_conv.2.{k}' for k in META_ACON]
    for n, stride in enumerate(_strides((4, 8, 4))):
        p = f'features.{n}.branch_main.'
        keys += _conv_bn(p, 0, 1) + [f'{p}2.{k}' for k in META_ACON]
        keys += _conv_bn(p, 3, 4) + _conv_bn(p, 5, 6) + [f'{p}7.{k}' for k in META_ACON]
        if stride == 2:
            p = f'features.{n}.branch_proj.'
            keys += _conv_bn(p, 0, 1) + _conv_bn(p, 2, 3) + [f'{p}4.{k}' for k in META_ACON]
    keys += _conv_bn('conv_last.', 0, 1) + [f'conv_last.2.{k}' for k in META_ACON]
    return keys + ['classifier.0.weight']


def official_tfnet_keys():
    """TFNet (ACON-FReLU everywhere but the stem; first_conv.2 is a ReLU)."""
    keys = _conv_bn('first_conv.', 0, 1)
    for n, _ in enumerate(_strides((2, 3, 8, 3))):
        p = f'features.{n}.'
        keys += _conv_bn(f'{p}branch_main.', 0, 1)
        keys += [f'{p}branch_main.2.{k}' for k in ACON_FRELU]
        keys += _conv_bn(f'{p}branch_main.', 3, 4) + [f'{p}acon.{k}' for k in ACON_FRELU]
    keys += _conv_bn('conv_last.', 0, 1) + [f'conv_last.2.{k}' for k in ACON_FRELU]
    return keys + ['classifier.0.weight']


def _official_round_trip(tmp_path, capsys, ref, keys, src_name, expected_cfg, build):
    """Write ``ref`` in the official layout, convert, load via init_cfg, compare outputs."""
    own = ref.state_dict()
    head = [k for k in keys if k.startswith('classifier.')]
    assert set(keys) - set(head) == set(own), \
        'mmacon key layout differs from the official one'
    sd = {f'module.{k}': own[k].clone() for k in keys if k not in head}
    sd['module.classifier.0.weight'] = torch.randn(1000, 1024)
    src = str(tmp_path / src_name)
    dst = str(tmp_path / (src_name[:-len('.pth')] + '_mmacon.pth'))
    torch.save({'state_dict': sd}, src)

    assert conv_tool.main([src, dst]) == 0
    out = capsys.readouterr().out
    assert f'backbone: {conv_tool.format_cfg(expected_cfg)}' in out
    assert "dropped classifier keys (1): ['classifier.0.weight']" in out
    assert 'verified' in out

    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['backbone_cfg'] == expected_cfg
    assert set(saved['state_dict']) == set(own)
    model = build(init_cfg=dict(type='Pretrained', checkpoint=dst))
    model.init_weights()
    model.eval()
    result = model.load_state_dict(saved['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 255
    with torch.no_grad():
        ref_out, out = ref(x), model(x)
    assert len(ref_out) == len(out) == 4
    for a, b in zip(ref_out, out):
        assert torch.equal(a, b)


def test_shufflenetv2_metaacon_round_trip(tmp_path, capsys):
    """Official-layout ShuffleNetV2 0.5x Meta-ACON (r = 8) -> convert -> same outputs."""
    from mmacon.models.backbones.shufflenet_v2 import AconShuffleNetV2
    torch.set_num_threads(1)
    cfg = dict(type='AconShuffleNetV2', widen_factor=0.5,
               act_cfg=dict(type='MetaAconC', reduction=8))
    kwargs = {k: v for k, v in cfg.items() if k != 'type'}
    ref = randomise(AconShuffleNetV2(**kwargs)).eval()
    _official_round_trip(tmp_path, capsys, ref, official_shufflenet_keys(),
                         'shufflenetv2.0.5.metaacon.pth', cfg,
                         lambda **kw: AconShuffleNetV2(**kwargs, **kw))


def test_tfnet_round_trip(tmp_path, capsys):
    """Official-layout TFNet 0.5 -> convert -> same outputs."""
    from mmacon.models.backbones.tfnet import TFNet
    torch.set_num_threads(1)
    ref = randomise(TFNet(widen_factor=0.5)).eval()
    _official_round_trip(tmp_path, capsys, ref, official_tfnet_keys(), 'tfnet.0.5.pth',
                         dict(type='TFNet', widen_factor=0.5),
                         lambda **kw: TFNet(widen_factor=0.5, **kw))


@pytest.mark.parametrize('width,act,expected_act', [
    (1.0, dict(type='MetaAconC'), dict(type='MetaAconC', reduction=16)),
    (1.5, dict(type='MetaAconC'), dict(type='MetaAconC', reduction=16)),
    (2.0, dict(type='AconC'), dict(type='AconC')),
    (1.0, None, dict(type='ReLU')),
])
def test_shufflenetv2_widths_and_acts_verify(width, act, expected_act):
    """Every width / activation is recognised and verifies against AconShuffleNetV2."""
    from mmacon.models.backbones.shufflenet_v2 import AconShuffleNetV2
    sd = {f'module.{k}': v for k, v in
          AconShuffleNetV2(widen_factor=width, act_cfg=act).state_dict().items()}
    sd['module.classifier.0.weight'] = torch.zeros(1000, 1024)
    converted, info = conv_tool.convert(sd)
    assert info['backbone_cfg'] == dict(type='AconShuffleNetV2', widen_factor=width,
                                        act_cfg=expected_act)
    assert conv_tool.verify(converted, info['backbone_cfg']) == \
        dict(missing=[], unexpected=[], shape=[])


@pytest.mark.parametrize('width', [1.0, 1.5, 2.0])
def test_tfnet_widths_verify(width):
    from mmacon.models.backbones.tfnet import TFNet
    sd = dict(TFNet(widen_factor=width).state_dict())
    sd['classifier.0.weight'] = torch.zeros(1000, 1024)
    converted, info = conv_tool.convert(sd)
    assert info['backbone_cfg'] == dict(type='TFNet', widen_factor=width)
    assert conv_tool.verify(converted, info['backbone_cfg']) == \
        dict(missing=[], unexpected=[], shape=[])


def test_tfnet_bad_width_is_refused():
    sd = {'first_conv.0.weight': torch.zeros(12, 3, 3, 3),
          'features.0.branch_main.2.conv_frelu.weight': torch.zeros(12, 1, 3, 3)}
    with pytest.raises(conv_tool.CheckpointError, match='widen_factor'):
        conv_tool.convert(sd)


# ----------------------------------------------------------------------------- provenance
def _torchvision_checkpoint(arch, path):
    import torchvision
    torch.manual_seed(0)
    net = getattr(torchvision.models, arch)(weights=None).eval()
    torch.save(net.state_dict(), path)
    return net


def test_torchvision_relu_resnet50_gets_its_own_convention(tmp_path, capsys):
    """torchvision's ReLU ResNet-50 (no conv biases, no ACON tensors, with fc) is named as
    such, converted with style='pytorch', and advised RGB / ImageNet mean-std, not the
    official BGR 0-255; the converted backbone computes torchvision's features."""
    src, dst = str(tmp_path / 'resnet50.pth'), str(tmp_path / 'resnet50_mmacon.pth')
    net = _torchvision_checkpoint('resnet50', src)
    assert conv_tool.main([src, dst]) == 0
    out = capsys.readouterr().out
    assert "backbone: dict(type='AconResNet', depth=50, style='pytorch', act_cfg=None)" in out
    assert 'layout: torchvision ReLU ResNet layout (no conv biases, no ACON tensors)' in out
    assert 'mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True' \
        in out
    assert 'BGR channel order' not in out and "style='caffe'" not in out
    assert 'verified: the keys and shapes of all 318 tensors match AconResNet' in out
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['input_convention'] == conv_tool.TORCHVISION_INPUT
    model = AconResNet(**{k: v for k, v in saved['meta']['backbone_cfg'].items()
                          if k != 'type'}).eval()
    model.load_state_dict(saved['state_dict'], strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = nn_features(net, x)
        assert torch.allclose(model(x)[-1], ref, atol=1e-5, rtol=1e-5)


def nn_features(net, x):
    """torchvision ResNet up to layer4 (no pooling / fc)."""
    for name in ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4'):
        x = getattr(net, name)(x)
    return x


def test_basic_block_resnet_has_no_bottleneck_stride_note(tmp_path, capsys):
    src = str(tmp_path / 'resnet18.pth')
    _torchvision_checkpoint('resnet18', src)
    assert conv_tool.main([src, str(tmp_path / 'dst.pth')]) == 0
    out = capsys.readouterr().out
    assert "dict(type='AconResNet', depth=18, style='pytorch', act_cfg=None)" in out
    assert 'stride' not in out


def test_official_layout_is_named_and_advised(tmp_path, capsys):
    ref = randomise(AconResNet(depth=50, style='caffe', conv_bias=True,
                               act_cfg=dict(type='AconC')))
    src = str(tmp_path / 'res50.acon.pth')
    official_checkpoint(ref, 50, 'AconC', src)
    assert conv_tool.main([src, str(tmp_path / 'dst.pth')]) == 0
    out = capsys.readouterr().out
    assert 'layout: official ACON / Meta-ACON release layout (conv biases, ACON tensors)' \
        in out
    assert f'input convention of these weights: {conv_tool.OFFICIAL_INPUT}' in out
    assert "keep style='caffe'" in out


def test_unknown_layout_gets_no_convention(tmp_path, capsys):
    """ACON tensors without conv biases (e.g. an mmacon-trained backbone): no advice."""
    model = AconResNet(depth=18, base_channels=8, act_cfg=dict(type='AconC'))
    src = str(tmp_path / 'mine.pth')
    torch.save({'state_dict': model.state_dict()}, src)
    assert conv_tool.main([src, str(tmp_path / 'dst.pth')]) == 0
    out = capsys.readouterr().out
    assert 'layout: unknown ResNet layout' in out
    assert 'input convention of these weights: unknown' in out
    assert 'BGR' not in out and 'mean=' not in out and "style=" not in out
    assert torch.load(str(tmp_path / 'dst.pth'), weights_only=True)['meta'][
        'input_convention'] is None
