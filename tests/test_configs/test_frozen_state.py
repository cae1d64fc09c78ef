"""Every shipped config's model (``configs/``, ``_base_/`` excepted) keeps each
parameter's ``requires_grad`` from construction on, whatever ``train()``/``eval()``
calls follow, and its ``training`` flags after ``train()``/``eval()`` do not depend on
the calls before (issue 17: DDP registers the parameters that need a gradient before the
first ``train()``). Built as shipped: SyncBN, ``frozen_stages``, ``norm_eval``, conv
biases kept; a Pretrained ``init_cfg`` stays, nothing loads since ``init_weights()`` is
not called. Where the backbone is an ``AconResNet*``, its flags are also those of the
upstream ResNet built from the same config without the ACON arguments.
"""
from __future__ import annotations

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from tests.test_configs.test_configs import CONFIGS, load
from tests.test_models.test_backbones.backbone_checks import assert_frozen_state_fixed

ACON_ARGS = ('act_cfg', 'act_placement', 'conv_bias')


def _registry(scope: str):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    return MODELS


def upstream_resnet(scope: str, backbone: dict):
    """The upstream ResNet a config's ``AconResNet*`` backbone replaces, or None."""
    kind = backbone['type']
    if not kind.startswith('AconResNet'):
        return None
    suffix = kind[len('AconResNet'):]
    kwargs = {k: v for k, v in backbone.items() if k not in ACON_ARGS + ('type', )}
    if scope == 'mmdet':
        from mmdet.models.backbones import resnet
        if suffix == 'V1c':  # mmdet has no ResNetV1c: its ResNet with the deep stem
            return resnet.ResNet(deep_stem=True, avg_down=False, **kwargs)
        return getattr(resnet, f'ResNet{suffix}')(**kwargs)
    from mmseg.models.backbones import resnet
    if scope != 'mmseg':  # the root AconResNet: mmseg's ResNet, stem at base_channels
        kwargs.setdefault('stem_channels', kwargs.get('base_channels', 64))
    return getattr(resnet, f'ResNet{suffix}')(**kwargs)


@pytest.mark.parametrize('rel', CONFIGS)
def test_frozen_state_fixed_from_construction(rel):
    cfg = load(rel)
    scope = cfg.default_scope
    init_default_scope(scope)
    model_cfg = ConfigDict(cfg.model.to_dict())
    if scope == 'mmpretrain':  # the Runner fills the classifier's preprocessor
        model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    torch.manual_seed(0)
    model = _registry(scope).build(model_cfg)
    assert_frozen_state_fixed(model)
    ref = upstream_resnet(scope, cfg.model.backbone.to_dict())
    if ref is not None:  # a fresh backbone: the model's one has seen train() already
        backbone = _registry(scope).build(ConfigDict(cfg.model.backbone.to_dict()))
        assert type(backbone) is type(model.backbone)
        assert_frozen_state_fixed(backbone, ref)


def test_covers_frozen_stages_with_conv_biases():
    """The case issue 17 measured is in the list: frozen stages plus conv biases."""
    backbones = [load(rel).model.backbone for rel in CONFIGS]
    assert any(b.get('conv_bias') and b.get('frozen_stages', -1) >= 0 for b in backbones)
    assert len(CONFIGS) >= 48
