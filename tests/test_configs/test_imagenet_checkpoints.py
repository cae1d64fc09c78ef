"""ImageNet configs -> downstream configs: an mmpretrain checkpoint loads with nothing
missing or unexpected, for every downstream config.

For each downstream config (detection / segmentation, tiny ones included) the ImageNet
config that pretrains its backbone is named by :func:`pretraining_config`. Its
classifier is built (mmpretrain scope), given random non-default values, saved as an
mmpretrain-style checkpoint (``{'meta', 'state_dict'}`` with ``backbone.*`` and
``head.*`` keys), and loaded into the downstream backbone built from the real config
in its own scope with ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')`` and ``init_weights()``.
"""
from __future__ import annotations

import functools
import re

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from test_configs import CONFIGS, _scope, cpu_cfg, load

IMAGENET = [c for c in CONFIGS if c.startswith('imagenet/') or c.endswith('_tiny-imagenet.py')]
DOWNSTREAM = [c for c in CONFIGS if c not in IMAGENET]
ACT_TAGS = {None: 'relu', 'ReLU': 'relu', 'AconC': 'aconc', 'MetaAconC': 'metaacon'}


def pretraining_config(rel: str) -> str:
    """The ImageNet config whose checkpoint initialises the backbone of ``rel``."""
    backbone = load(rel).model.backbone
    act = ACT_TAGS[(backbone.get('act_cfg') or {}).get('type')]
    kind = backbone.type
    if rel.startswith('tiny/'):
        assert (kind, backbone.depth, backbone.base_channels) == ('AconResNet', 18, 32), rel
        return f'tiny/resnet18-w32-{act}_tiny-imagenet.py'
    if kind in ('AconResNet', 'AconResNetV1c', 'AconResNetV1d'):
        return f'imagenet/resnet{backbone.depth}-{act}_8xb32-linear-600k_in1k.py'
    if kind == 'AconShuffleNetV2':
        return f'imagenet/shufflenetv2-{backbone.widen_factor}x-{act}_16xb64-linear-300k_in1k.py'
    if kind == 'TFNet':
        return f'imagenet/tfnet-{backbone.widen_factor}x_16xb64-linear-300k_in1k.py'
    if kind == 'AconMobileNetV2':
        act = 'relu6' if act == 'relu' else act
        return f'imagenet/mobilenetv2-{act}_16xb64-linear-300k_in1k.py'
    raise AssertionError(f'{rel}: no ImageNet config known for backbone {kind}')


PAIRS = [(pretraining_config(rel), rel) for rel in DOWNSTREAM]


def _randomised(state_dict: dict) -> dict:
    """Same keys and shapes, values unlike any initialisation (so equality means loaded)."""
    gen = torch.Generator().manual_seed(0)
    out = {}
    for key, value in state_dict.items():
        if value.is_floating_point():
            out[key] = torch.randn(value.shape, generator=gen, dtype=value.dtype)
        else:
            out[key] = torch.full_like(value, 7)
    return out


@functools.lru_cache(maxsize=None)
def _classifier_state(imagenet_rel: str) -> dict:
    from mmpretrain.registry import MODELS
    cfg = load(imagenet_rel)
    assert _scope(cfg) == 'mmpretrain', imagenet_rel
    init_default_scope('mmpretrain')
    model_cfg = ConfigDict(cpu_cfg(cfg.model.to_dict()))
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return _randomised(MODELS.build(model_cfg).state_dict())


def save_mmpretrain_checkpoint(imagenet_rel: str, path) -> dict:
    """Write the classifier of ``imagenet_rel`` as mmengine's CheckpointHook does."""
    state = _classifier_state(imagenet_rel)
    torch.save(dict(meta=dict(cfg=imagenet_rel, iter=1), state_dict=state), str(path))
    return state


def build_downstream_backbone(rel: str, checkpoint=None):
    """The backbone of the real downstream config, in its scope, optionally with
    ``init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')``."""
    cfg = load(rel)
    scope = _scope(cfg)
    init_default_scope(scope)
    backbone_cfg = ConfigDict(cpu_cfg(cfg.model.backbone.to_dict()))
    if checkpoint is not None:
        backbone_cfg['init_cfg'] = dict(type='Pretrained', checkpoint=str(checkpoint),
                                        prefix='backbone.')
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmdet.registry import MODELS
    return MODELS.build(backbone_cfg)


def assert_loaded(backbone, state: dict, where: str) -> None:
    expected = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    got = backbone.state_dict()
    missing, unexpected = sorted(set(got) - set(expected)), sorted(set(expected) - set(got))
    assert not missing and not unexpected, \
        f'{where}: missing {missing[:8]} ({len(missing)}), unexpected {unexpected[:8]} ' \
        f'({len(unexpected)})'
    shapes = {k: (tuple(v.shape), tuple(got[k].shape)) for k, v in expected.items()
              if v.shape != got[k].shape}
    assert not shapes, f'{where}: shape mismatch (checkpoint, backbone): {shapes}'
    differ = [k for k, v in expected.items() if not torch.equal(v, got[k])]
    assert not differ, f'{where}: init_weights did not load {differ[:8]} ({len(differ)})'


def test_every_downstream_config_has_an_imagenet_config():
    missing = sorted({imagenet for imagenet, _ in PAIRS} - set(IMAGENET))
    assert not missing, f'downstream configs name ImageNet configs that do not exist: {missing}'
    assert len(PAIRS) >= 25 and len(IMAGENET) >= 19


@pytest.fixture(scope='module')
def checkpoint_of(tmp_path_factory):
    """ImageNet config -> (path, state) of its checkpoint, written once per module."""
    root, written = tmp_path_factory.mktemp('in1k'), {}

    def get(imagenet_rel: str):
        if imagenet_rel not in written:
            path = root / (imagenet_rel.replace('/', '_')[:-3] + '.pth')
            written[imagenet_rel] = path, save_mmpretrain_checkpoint(imagenet_rel, path)
        return written[imagenet_rel]
    return get


@pytest.mark.parametrize('imagenet,rel', PAIRS, ids=[r for _, r in PAIRS])
def test_imagenet_checkpoint_loads_into_downstream_backbone(imagenet, rel, checkpoint_of):
    torch.set_num_threads(1)
    path, state = checkpoint_of(imagenet)
    backbone = build_downstream_backbone(rel, checkpoint=path)
    backbone.init_weights()
    assert_loaded(backbone, state, f'{imagenet} -> {rel}')


@pytest.mark.parametrize('imagenet,rel', [p for p in PAIRS if not p[1].startswith('tiny/')],
                         ids=[r for i, r in PAIRS if not r.startswith('tiny/')])
def test_downstream_checkpoint_is_the_imagenet_configs_or_official(imagenet, rel):
    """A downstream config loads what its ImageNet config produces (``checkpoints/<config
    name>.pth``, prefix 'backbone.') or a converted official backbone (no prefix)."""
    init = load(rel).model.backbone.init_cfg
    assert init.type == 'Pretrained', rel
    stem = imagenet.split('/')[-1][:-len('.py')]
    if init.get('prefix') == 'backbone.':
        assert init.checkpoint == f'checkpoints/{stem}.pth', rel
    else:
        # official release converted by tools/model_converters/acon2mmacon.py
        assert init.get('prefix') is None, rel
        assert re.fullmatch(r'checkpoints/(res50|shufflenetv2|tfnet)\.[\w.]+_mmacon\.pth',
                            init.checkpoint), (rel, init.checkpoint)


def test_mismatch_is_caught(checkpoint_of):
    """The check fails when the ImageNet network differs (ResNet-50 ReLU into ACON-C)."""
    path, state = checkpoint_of('imagenet/resnet50-relu_8xb32-linear-600k_in1k.py')
    backbone = build_downstream_backbone('retinanet/retinanet_r50-aconc_fpn_1x_coco.py', path)
    backbone.init_weights()
    with pytest.raises(AssertionError, match=r'missing \[.*acon\.p1'):
        assert_loaded(backbone, state, 'relu -> aconc')
