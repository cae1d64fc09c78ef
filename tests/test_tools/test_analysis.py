"""tools/analysis: beta_distribution.py, plot_activation.py, get_flops.py on tiny models."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from torch import nn

from mmacon.models import AconC, AconResNet, MetaAconC
from tests.test_tools.tool_helpers import load_tool

beta_tool = load_tool('tools/analysis/beta_distribution.py')
act_tool = load_tool('tools/analysis/plot_activation.py')
flops_tool = load_tool('tools/analysis/get_flops.py')

TINY_META = "dict(type='AconResNet', depth=18, base_channels=8, act_cfg=dict(type='MetaAconC'))"
TINY_ACONC = "dict(type='AconResNet', depth=18, base_channels=8, act_cfg=dict(type='AconC'))"

# A RetinaNet on a tiny Meta-ACON ResNet-18: the config path of the tools.
TINY_CONFIG = """
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
    backbone=dict(type='AconResNet', depth=18, base_channels=8,
                  act_cfg=dict(type='MetaAconC'), init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1))
"""


@pytest.fixture(scope='module')
def tiny_meta():
    torch.manual_seed(0)
    model = AconResNet(depth=18, base_channels=8, act_cfg=dict(type='MetaAconC')).eval()
    with torch.no_grad():  # spread the generator's output so beta varies per sample
        for m in model.modules():
            if isinstance(m, MetaAconC):
                m.fc2.weight.normal_(0, 2.0)
    return model


@pytest.fixture()
def tiny_ckpt(tmp_path, tiny_meta):
    path = str(tmp_path / 'tiny_meta.pth')
    torch.save({'state_dict': tiny_meta.state_dict(), 'meta': {}}, path)
    return path


# ----------------------------------------------------------------------------- beta
def test_capture_betas_matches_generator():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 16, 3), MetaAconC(16)).eval()
    x = torch.randn(3, 3, 12, 12)
    betas = beta_tool.capture_betas(model, x)
    assert list(betas) == ['1']
    with torch.no_grad():
        expected = model[1].generate_beta(model[0](x))
    assert betas['1'].shape == (3, 16, 1, 1)
    torch.testing.assert_close(betas['1'], expected)
    # Hooks are removed afterwards.
    assert not model[1]._forward_hooks
    with pytest.raises(ValueError, match='no MetaAconC module matches'):
        beta_tool.capture_betas(model, x, ['nothing*'])


def test_beta_distribution_backbone_mode(tmp_path, tiny_ckpt, tiny_meta, capsys):
    out = str(tmp_path / 'out')
    rc = beta_tool.main(['--backbone-cfg', TINY_META, tiny_ckpt, '--num-random', '3',
                         '--shape', '32', '32', '--layers', 'layer4.*', '--out-dir', out])
    assert rc == 0, capsys.readouterr().err
    assert sorted(os.listdir(out)) == ['beta_layer4_0_acon1.png', 'beta_layer4_0_acon2.png',
                                       'beta_layer4_1_acon1.png', 'beta_layer4_1_acon2.png',
                                       'beta_summary.png', 'betas.npz']
    data = np.load(osp.join(out, 'betas.npz'))
    beta = data['layer4.1.acon2']
    assert beta.shape == (3, 64, 1, 1)
    assert ((beta > 0) & (beta < 1)).all()
    assert not np.allclose(beta[0], beta[1])  # generated per sample
    assert list(data['samples']) == ['random0', 'random1', 'random2']


def test_beta_distribution_config_mode_and_images(tmp_path, capsys):
    import mmcv
    from mmengine.config import Config
    cfg_path = tmp_path / 'tiny_retinanet.py'
    cfg_path.write_text(TINY_CONFIG)
    model, _ = beta_tool.build_model(str(cfg_path))
    ckpt = str(tmp_path / 'whole.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)  # keys backbone.*, neck.*, ...
    images = []
    for i in range(2):
        img = (np.random.default_rng(i).uniform(0, 255, (40, 50, 3))).astype(np.uint8)
        images.append(str(tmp_path / f'img{i}.png'))
        mmcv.imwrite(img, images[-1])
    out = str(tmp_path / 'out')
    rc = beta_tool.main([str(cfg_path), ckpt, '--images', *images, '--shape', '32', '32',
                         '--layers', 'backbone.layer1.0.acon1', '--out-dir', out])
    assert rc == 0, capsys.readouterr().err
    assert 'into the model' in capsys.readouterr().out
    data = np.load(osp.join(out, 'betas.npz'))
    assert data['backbone.layer1.0.acon1'].shape == (2, 8, 1, 1)
    assert list(data['samples']) == ['img0.png', 'img1.png']
    assert Config.fromfile(str(cfg_path)).model.backbone.type == 'AconResNet'


def test_beta_distribution_errors(tmp_path, tiny_ckpt, capsys):
    out = str(tmp_path / 'out')
    assert beta_tool.main(['--backbone-cfg', TINY_META, str(tmp_path / 'missing.pth'),
                           '--out-dir', out]) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    # A checkpoint that does not fit the model: the keys are named.
    assert beta_tool.main(['--backbone-cfg', TINY_ACONC, tiny_ckpt, '--out-dir', out]) == 1
    err = capsys.readouterr().err
    assert 'unexpected' in err and 'fc1' in err
    # An ACON-C model has no Meta-ACON layer.
    torch.save(AconResNet(depth=18, base_channels=8, act_cfg=dict(type='AconC')).state_dict(),
               tmp_path / 'aconc.pth')
    assert beta_tool.main(['--backbone-cfg', TINY_ACONC, str(tmp_path / 'aconc.pth'),
                           '--shape', '32', '32', '--out-dir', out]) == 1
    assert 'no MetaAconC module' in capsys.readouterr().err
    assert beta_tool.main([str(tmp_path / 'aconc.pth'), '--out-dir', out]) == 2


# ----------------------------------------------------------------------------- curves
def test_curve_and_derivative_limits():
    x = torch.tensor([-60., 0., 60.], dtype=torch.float64)
    for p1, p2, beta in [(1.0, 0.25, 1.0), (0.3, -0.8, 2.0), (-0.5, 1.2, 0.7)]:
        y, dy = act_tool.curve_and_derivative(x, p1, p2, beta)
        hi, lo = (p1, p2) if beta * (p1 - p2) > 0 else (p2, p1)
        assert dy[2] == pytest.approx(hi, abs=1e-6)
        assert dy[0] == pytest.approx(lo, abs=1e-6)
        assert dy[1] == pytest.approx((p1 + p2) / 2)  # f'(0) = (p1 + p2) / 2
        assert y[2] == pytest.approx(hi * 60, rel=1e-6)


def test_acon_params_from_state_dict_and_model():
    torch.manual_seed(0)
    model = nn.Sequential(AconC(4), MetaAconC(4, reduction=2))
    found = act_tool.acon_params_from_state_dict(model.state_dict())
    assert {k: v['kind'] for k, v in found.items()} == {'0': 'AconC', '1': 'MetaAconC'}
    torch.testing.assert_close(found['0']['p1'], model[0].p1.detach().reshape(-1).double())
    torch.testing.assert_close(found['0']['beta'], model[0].beta.detach().reshape(-1).double())
    assert found['1']['beta'] is None
    from_model = act_tool.acon_params_from_model(model)
    for name in found:
        for key in ('p1', 'p2'):
            torch.testing.assert_close(found[name][key], from_model[name][key])


def test_plot_activation_modes(tmp_path, tiny_ckpt, capsys):
    out = str(tmp_path / 'out')
    # checkpoint only
    assert act_tool.main([tiny_ckpt, '--layers', 'layer4.1.*', '--channels', '0', '5',
                          '--out-dir', out]) == 0
    assert sorted(os.listdir(out)) == ['act_layer4_1_acon1.png', 'act_layer4_1_acon2.png']
    # backbone-only mode, ACON-C from a whole-model (backbone.*) checkpoint
    aconc = AconResNet(depth=18, base_channels=8, act_cfg=dict(type='AconC'))
    whole = str(tmp_path / 'whole.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in aconc.state_dict().items()}},
               whole)
    out2 = str(tmp_path / 'out2')
    assert act_tool.main([whole, '--backbone-cfg', TINY_ACONC, '--layers', 'layer1.0.acon1',
                          '--out-dir', out2]) == 0
    assert os.listdir(out2) == ['act_layer1_0_acon1.png']
    # checkpoint-only mode matches 'backbone.'-prefixed names with the short pattern too
    out3 = str(tmp_path / 'out3')
    assert act_tool.main([whole, '--layers', 'layer1.0.acon1', '--out-dir', out3]) == 0
    assert os.listdir(out3) == ['act_backbone_layer1_0_acon1.png']


def test_plot_activation_errors(tmp_path, tiny_ckpt, capsys):
    out = str(tmp_path / 'out')
    assert act_tool.main([str(tmp_path / 'nope.pth'), '--out-dir', out]) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    assert act_tool.main([tiny_ckpt, '--layers', 'nothing', '--out-dir', out]) == 1
    assert 'no ACON module matches' in capsys.readouterr().err
    assert act_tool.main([tiny_ckpt, '--channels', '999', '--out-dir', out]) == 1
    assert 'none of' in capsys.readouterr().err


# ----------------------------------------------------------------------------- flops
def test_get_flops_backbone(capsys):
    assert flops_tool.main(['--backbone-cfg', TINY_META, '--shape', '32']) == 0
    out = capsys.readouterr().out
    model = AconResNet(depth=18, base_channels=8, act_cfg=dict(type='MetaAconC'))
    params = sum(p.numel() for p in model.parameters())
    assert f'params {params:,}' in out
    assert '| 32x32 |' in out


def test_get_flops_config_and_errors(tmp_path, capsys):
    cfg_path = tmp_path / 'tiny_retinanet.py'
    cfg_path.write_text(TINY_CONFIG)
    result = flops_tool.main([str(cfg_path), '--shape', '64', '64'])
    captured = capsys.readouterr()
    assert result == 0, captured.err
    assert 'tiny_retinanet.py: input 64x64 (--shape): params' in captured.out
    flops = int(captured.out.split('flops ')[1].split()[0].replace(',', ''))
    assert flops > 0

    assert flops_tool.main([str(tmp_path / 'none.py')]) == 1
    assert 'config not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        flops_tool.main([])


def _config(rel):
    from tests.test_tools.tool_helpers import REPO
    return osp.join(REPO, 'configs', rel)


FASTER = {act: _config(f'faster_rcnn/faster-rcnn_r50-{act}_fpn_1x_coco.py')
          for act in ('relu', 'metaacon')}


def test_get_flops_two_stage_fixed_proposals():
    """Faster R-CNN ReLU vs Meta-ACON differ by exactly their backbones' difference, and a
    count repeats: the RoI head gets fixed proposals, not a random RPN's."""
    from mmacon.utils.model_loading import build_model
    shape = (128, 128)
    flops, backbone = {}, {}
    for act, config in FASTER.items():
        model, _ = build_model(config)
        flops[act] = flops_tool.measure(model, shape, True)
        backbone[act] = flops_tool.measure(model.backbone, shape, False)['flops']
        assert flops[act]['proposals'] == 1000  # the RPN's test_cfg.max_per_img
    assert backbone['metaacon'] - backbone['relu'] == 178_144  # generators' 1x1 convs
    assert flops['metaacon']['flops'] - flops['relu']['flops'] == 178_144
    model, _ = build_model(FASTER['relu'])
    assert flops_tool.measure(model, shape, True) == flops['relu']
    # the protocol is what the count depends on: 500 fewer RoIs through the
    # Shared2FCBBoxHead (fc6 256*7*7 -> 1024, fc7 1024 -> 1024, cls 1024 -> 81,
    # reg 1024 -> 320) cost exactly 500 times one RoI
    per_roi = 256 * 7 * 7 * 1024 + 1024 * 1024 + 1024 * 81 + 1024 * 320
    fewer = flops_tool.measure(model, shape, True, num_proposals=500)
    assert flops['relu']['flops'] - fewer['flops'] == 500 * per_roi


def test_get_flops_default_input_is_the_test_scale(tmp_path):
    from mmengine.config import Config
    shape = flops_tool.input_shape_of
    # mmdet: Resize(scale=(1333, 800), keep_ratio=True), padded to 32
    assert shape(Config.fromfile(FASTER['relu']))[0] == (800, 1344)
    # mmseg, whole inference: Resize(scale=(2048, 1024), keep_ratio=True)
    city = Config.fromfile(_config('pspnet/pspnet_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py'))
    assert shape(city)[0] == (1024, 2048)
    # mmseg, slide inference: one crop_size window
    city.model.test_cfg = dict(mode='slide', crop_size=(512, 1024), stride=(341, 683))
    assert shape(city) == ((512, 1024), 'one slide-inference window (test_cfg.crop_size)')
    # a fixed-size Resize is (w, h)
    city.model.test_cfg = dict(mode='whole')
    city.test_dataloader.dataset.pipeline[1] = dict(type='Resize', scale=(640, 480),
                                                    keep_ratio=False)
    assert shape(city)[0] == (480, 640)
    city.test_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile')]
    with pytest.raises(ValueError, match='give --shape'):
        shape(city)
