"""tools/deployment/pytorch2onnx.py: ACON backbones export to ONNX; onnxruntime agrees."""

import pytest
import torch
from torch import nn

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

from mmacon.models import AconC, AconResNet, MetaAconC  # noqa: E402
from tests.test_tools.tool_helpers import load_tool  # noqa: E402

onnx_tool = load_tool('tools/deployment/pytorch2onnx.py')

TINY_META = "dict(type='AconResNet', depth=18, base_channels=8, act_cfg=dict(type='MetaAconC'))"


def _randomise_acon(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (AconC, MetaAconC)):
                m.p1.normal_()
                m.p2.normal_()
            if isinstance(m, AconC):
                m.beta.uniform_(0.2, 3.0)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize('opset,impl', [(13, 'auto'), (17, 'cpp'), (13, 'eager')])
def test_activation_modules_export(tmp_path, opset, impl):
    """Whatever ACON-C implementation is the default, export sees the plain formula."""
    from mmacon.ops import get_default_impl, set_default_impl
    previous = get_default_impl()
    set_default_impl(impl)
    try:
        _check_activation_export(tmp_path, opset)
    finally:
        set_default_impl(previous)


def _check_activation_export(tmp_path, opset):
    torch.manual_seed(0)
    model = _randomise_acon(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), AconC(16),
                                          MetaAconC(16), nn.Conv2d(16, 8, 1),
                                          MetaAconC(8, mode='pixel'))).eval()
    module = onnx_tool.FeatureExporter(model).eval()
    x = torch.randn(2, 3, 12, 12)
    path = str(tmp_path / 'acts.onnx')
    onnx_tool.export(module, x, path, opset=opset)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == opset
    # plain ONNX operators only: nothing from a custom domain
    assert {n.domain for n in proto.graph.node} <= {''}
    with torch.no_grad():
        expected = module(x)
    diff = onnx_tool.max_abs_diff(expected, onnx_tool.run_onnxruntime(path, x))
    assert diff <= 1e-4


def test_backbone_export_cli(tmp_path, capsys):
    torch.manual_seed(0)
    backbone = _randomise_acon(
        AconResNet(depth=18, base_channels=8, act_cfg=dict(type='MetaAconC'))).eval()
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': backbone.state_dict()}, ckpt)
    out = str(tmp_path / 'tiny.onnx')
    rc = onnx_tool.main(['--backbone-cfg', TINY_META, '--checkpoint', ckpt, '--shape', '32',
                         '32', '--output', out, '--opset', '13'])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert 'opset 13' in text and 'within atol 0.0001' in text
    # The file holds the checkpoint's weights: same outputs as the PyTorch backbone
    # on a fresh unit-scale input, within 1e-4 absolute.
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = backbone(x)
    assert onnx_tool.max_abs_diff(expected, onnx_tool.run_onnxruntime(out, x)) <= 1e-4


def test_dynamic_axes(tmp_path):
    torch.manual_seed(0)
    backbone = _randomise_acon(
        AconResNet(depth=18, base_channels=8, act_cfg=dict(type='AconC'),
                   out_indices=(3, ))).eval()
    module = onnx_tool.FeatureExporter(backbone).eval()
    path = str(tmp_path / 'dyn.onnx')
    onnx_tool.export(module, torch.randn(1, 3, 32, 32), path, dynamic=True)
    x = torch.randn(3, 3, 64, 48)
    with torch.no_grad():
        expected = module(x)
    assert onnx_tool.max_abs_diff(expected, onnx_tool.run_onnxruntime(path, x)) <= 1e-4


def test_errors(tmp_path, capsys):
    out = str(tmp_path / 'x.onnx')
    assert onnx_tool.main(['--backbone-cfg', TINY_META, '--checkpoint',
                           str(tmp_path / 'missing.pth'), '--output', out]) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        onnx_tool.main(['--backbone-cfg', TINY_META, '--opset', '11'])
    with pytest.raises(SystemExit):
        onnx_tool.main([])
    assert onnx_tool.main(['--backbone-cfg', "dict(type='AconResNet', depth=18, x=open)",
                           '--output', out]) == 1
    assert 'cannot parse backbone config' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        onnx_tool.main(['--backbone-cfg', TINY_META, '--head'])
    assert '--head needs a CONFIG (a detector or segmentor), not --backbone-cfg' in \
        capsys.readouterr().err


def test_dynamo_exporter_picks_its_opset(tmp_path, capfd):
    """--exporter dynamo defaults to opset 18 (its lowest): no failed down-conversion and
    no traceback before the file is written; asking it for 13 is refused up front."""
    out = str(tmp_path / 'dyn.onnx')
    rc = onnx_tool.main(['--backbone-cfg', TINY_META, '--shape', '32', '32',
                         '--exporter', 'dynamo', '--output', out])
    captured = capfd.readouterr()
    assert rc == 0, captured.out + captured.err
    assert 'opset 18' in captured.out and 'within atol' in captured.out
    assert 'Traceback' not in captured.err and 'Failed to convert' not in captured.err
    with pytest.raises(SystemExit):
        onnx_tool.main(['--backbone-cfg', TINY_META, '--exporter', 'dynamo', '--opset', '13'])
    assert ('--exporter dynamo writes opset 18 or later, got --opset 13; use --exporter '
            'torchscript for opsets 13-17') in capfd.readouterr().err


def test_random_initialisation_is_seeded(tmp_path, capfd):
    """Without --checkpoint the weights come from --seed, whatever the caller's RNG state:
    the same diff is printed twice, another seed prints another."""
    import torch

    def diff_line(seed, rng):
        torch.manual_seed(rng)
        assert onnx_tool.main(['--backbone-cfg', TINY_META, '--shape', '32', '32', '--seed',
                               str(seed), '--output', str(tmp_path / 'm.onnx')]) == 0
        return next(l for l in capfd.readouterr().out.splitlines() if 'max abs diff' in l)

    assert diff_line(0, 1) == diff_line(0, 2) != diff_line(1, 1)
