"""mmacon.models.activations serves any PyTorch/OpenMMLab project: no mmdet/mmseg needed."""
import os
import re
import subprocess
import sys
import textwrap

from mmengine.registry import MODELS

import mmacon  # noqa: F401

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WITHOUT_UPSTREAM = textwrap.dedent('''
    import sys
    for name in ('mmdet', 'mmseg', 'mmpretrain'):
        sys.modules[name] = None  # any import of them raises ModuleNotFoundError
    import torch
    torch.set_num_threads(1)
    from mmcv.cnn import ConvModule, build_activation_layer
    import mmacon.models.activations
    from mmengine.registry import MODELS
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 4)
    for cfg in (dict(type='AconC', channels=8), dict(type='MetaAconC', channels=8, reduction=4)):
        act = build_activation_layer(cfg)
        y = act(x)
        beta = act.generate_beta(x) if hasattr(act, 'generate_beta') else act.beta
        ref = mmacon.models.activations.acon_c_reference(x, act.p1, act.p2, beta)
        print(type(act).__name__, tuple(y.shape), bool(torch.allclose(y, ref, atol=1e-6)))
    conv = mmacon.models.acon_convert(torch.nn.Sequential(ConvModule(3, 8, 1)))
    print(type(conv[0].activate).__name__, conv[0].activate.channels)
    print('AconResNet registered:', MODELS.get('AconResNet') is not None)
    print('upstream imported:', any(sys.modules.get(n) is not None for n in ('mmdet', 'mmseg', 'mmpretrain')))
    try:
        mmacon.models.AconResNet
    except AttributeError as e:
        print('AttributeError:', e)
''')


def test_activations_import_and_run_without_mmdet_mmseg():
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', WITHOUT_UPSTREAM], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:5] == ['AconC (2, 8, 4, 4) True', 'MetaAconC (2, 8, 4, 4) True', 'AconC 8',
                         'AconResNet registered: False', 'upstream imported: False']
    assert re.fullmatch(r"AttributeError: mmacon.models has no 'AconResNet': the backbones were not "
                        r"registered because '(mmdet|mmseg)' is not installed; the activations and "
                        r"acon_convert work without it", lines[5]), lines[5]


def test_with_everything_installed_every_backbone_registers():
    names = ('AconResNet', 'AconResNetV1c', 'AconResNetV1d', 'AconShuffleNetV2', 'AconMobileNetV2',
             'TFNet', 'AconC', 'MetaAconC', 'AconConvert')
    assert {n: MODELS.get(n) is not None for n in names} == {n: True for n in names}
    assert mmacon.models.AconResNet is MODELS.get('AconResNet')


WITHOUT_MMCV_OPS = textwrap.dedent('''
    import sys
    sys.modules['mmcv._ext'] = None  # mmcv-lite: import mmcv._ext raises ModuleNotFoundError
    import torch
    import mmacon
    from mmengine.registry import MODELS
    act = MODELS.build(dict(type='AconC', channels=4))
    print(type(act).__name__, tuple(act(torch.randn(1, 4, 2, 2)).shape))
    print('AconResNet registered:', MODELS.get('AconResNet') is not None)
    try:
        mmacon.models.AconResNet
    except AttributeError as e:
        print('AttributeError:', e)
''')


def test_import_mmacon_with_mmcv_lite_says_the_backbones_need_mmcv_ops():
    """mmseg and mmdet import mmcv's compiled ops: with mmcv-lite ``import mmacon`` still
    registers the activations, and the backbones say what they need."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', WITHOUT_MMCV_OPS], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ['AconC (1, 4, 2, 2)', 'AconResNet registered: False']
    assert lines[2] == (
        "AttributeError: mmacon.models has no 'AconResNet': the backbones were not registered "
        "because mmdet/mmseg import mmcv's compiled ops and 'mmcv._ext' is not importable "
        '(import of mmcv._ext halted; None in sys.modules); install mmcv with its ops built for '
        'this torch (MMCV_WITH_OPS=1, as `make install` does); the activations and acon_convert '
        'work without it'), lines[2]
