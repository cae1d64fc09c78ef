"""What imports and registers with the core install (torch, mmengine, mmcv) alone, and
what each missing extra says."""
import os
import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import MODELS

import mmacon  # noqa: F401

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_without(blocked, body):
    code = textwrap.dedent(f'''
        import sys
        for name in {tuple(blocked)!r}:
            sys.modules[name] = None  # any import of them raises ModuleNotFoundError
        import torch
        torch.set_num_threads(1)
    ''') + textwrap.dedent(body)
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


CORE_ONLY = textwrap.dedent('''
    import mmacon
    from mmcv.cnn import ConvModule, build_activation_layer
    from mmengine.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from mmacon.models.activations import acon_c_reference
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 4)
    for cfg in (dict(type='AconC', channels=8), dict(type='MetaAconC', channels=8, reduction=4)):
        act = build_activation_layer(cfg)
        y = act(x)
        beta = act.generate_beta(x) if hasattr(act, 'generate_beta') else act.beta
        ref = acon_c_reference(x, act.p1, act.p2, beta)
        print(type(act).__name__, tuple(y.shape), bool(torch.allclose(y, ref, atol=1e-6)))
    conv = mmacon.models.acon_convert(torch.nn.Sequential(ConvModule(3, 8, 1)))
    print(type(conv[0].activate).__name__, conv[0].activate.channels)
    print(OPTIM_WRAPPER_CONSTRUCTORS.get('AconOptimWrapperConstructor').__name__,
          HOOKS.get('AconDecayCheckHook').__name__)
    for name in ('AconShuffleNetV2', 'AconMobileNetV2', 'TFNet'):
        net = MODELS.build(dict(type=name, widen_factor=0.5) if name != 'TFNet' else
                           dict(type=name))
        print(name, type(net).__name__)
    print('toolboxes imported:', sorted(n for n in ('mmdet', 'mmseg', 'mmpretrain', 'matplotlib')
                                         if sys.modules.get(n) is not None))
    try:
        mmacon.models.AconResNet
    except AttributeError as e:
        print('AttributeError:', e)
    try:
        MODELS.build(dict(type='AconResNet', depth=18))
    except ModuleNotFoundError as e:
        print('ModuleNotFoundError:', e)
''')


def test_core_install_registers_activations_engine_and_three_backbones():
    lines = _run_without(('mmdet', 'mmseg', 'mmpretrain', 'matplotlib'), CORE_ONLY)
    why = ('it subclasses mmseg\'s ResNet, and mmsegmentation is not installed: '
           'pip install "mmacon[seg]"')
    assert lines == [
        'AconC (2, 8, 4, 4) True', 'MetaAconC (2, 8, 4, 4) True', 'AconC 8',
        'AconOptimWrapperConstructor AconDecayCheckHook',
        'AconShuffleNetV2 AconShuffleNetV2', 'AconMobileNetV2 AconMobileNetV2', 'TFNet TFNet',
        'toolboxes imported: []',
        f"AttributeError: mmacon.models has no 'AconResNet': {why}",
        f'ModuleNotFoundError: AconResNet cannot be built: {why}']


def test_without_mmdet_its_resnet_family_names_the_det_extra():
    lines = _run_without(('mmdet', ), '''
        import mmacon
        from mmengine.registry import MODELS
        from mmseg.registry import MODELS as SEG
        print(MODELS.get('AconResNet').__module__, SEG.get('AconResNet').__module__)
        print(mmacon.models.backbones.MISSING['AconResNet (mmdet scope)'])
    ''')
    assert lines == ['mmacon.models.backbones.resnet mmacon.models.backbones.resnet_mmseg',
                     'it subclasses mmdet\'s ResNet, and mmdet is not installed: '
                     'pip install "mmacon[det]"']


@pytest.mark.parametrize('blocked', ['mmcv._ext'])
def test_mmcv_without_ops_keeps_import_working(blocked):
    # mmcv-lite: mmseg's models import mmcv.ops, whose compiled library is missing
    lines = _run_without((blocked, ), '''
        import mmacon
        from mmengine.registry import MODELS
        print(MODELS.get('AconC').__name__, MODELS.get('TFNet').__name__)
        print(mmacon.models.backbones.MISSING['AconResNet'])
    ''')
    assert lines[0] == 'AconC TFNet'
    assert lines[1] == ("it subclasses mmseg's ResNet, and mmseg cannot be imported without "
                        "mmcv's compiled ops (import of mmcv._ext halted; None in sys.modules) "
                        '(mmcv-lite, a build without MMCV_WITH_OPS=1, or one built for another '
                        'torch): install the full mmcv for this torch (README, "Two commands")')


def test_with_everything_installed_every_backbone_registers():
    names = ('AconResNet', 'AconResNetV1c', 'AconResNetV1d', 'AconShuffleNetV2', 'AconMobileNetV2',
             'TFNet', 'AconC', 'MetaAconC', 'AconConvert')
    assert {n: MODELS.get(n) is not None for n in names} == {n: True for n in names}
    assert mmacon.models.AconResNet is MODELS.get('AconResNet')
    assert mmacon.models.backbones.MISSING == {}
