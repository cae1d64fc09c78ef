"""Build the model an analysis / deployment tool measures, and load weights into it.

Two ways to name a model:

- a config file (mmdet / mmseg / any mmengine config with ``model = dict(...)``);
- ``--backbone-cfg "dict(type='AconResNet', depth=50, act_cfg=dict(type='MetaAconC'))"``:
  a bare backbone, no detector needed.

Checkpoints are loaded with ``weights_only=True`` (:mod:`mmacon.utils.checkpoint`); a whole-model
checkpoint (keys ``backbone.*``) and a backbone checkpoint (e.g. one written by
``acon2mmacon.py``) both work in either mode.
"""
from __future__ import annotations

import ast

from torch import nn

from .checkpoint import load_into, load_state_dict_file, select_prefix


def parse_cfg_literal(text: str) -> dict:
    """Parse ``"dict(type='AconResNet', depth=50)"`` or ``"{'type': ...}"`` without eval."""

    def conv(node):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == 'dict' and not node.args:
            return {kw.arg: conv(kw.value) for kw in node.keywords}
        if isinstance(node, ast.Dict):
            return {conv(k): conv(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [conv(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -conv(node.operand)
        raise ValueError(f'unsupported expression {ast.dump(node)[:80]}')

    try:
        cfg = conv(ast.parse(text.strip(), mode='eval').body)
    except (SyntaxError, ValueError) as err:
        raise ValueError(f'cannot parse backbone config {text!r}: {err}. Write it as '
                         "dict(type='AconResNet', depth=50, ...)") from err
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'backbone config must be a dict with a "type", got {text!r}')
    return cfg


def build_model(config: str | None = None, backbone_cfg: str | dict | None = None,
                cfg_options: dict | None = None):
    """Return ``(model, cfg)``; ``cfg`` is the mmengine Config or None in backbone mode."""
    import mmacon.models  # noqa: F401  (registers ACON modules and backbones)
    from mmengine.registry import MODELS
    if (config is None) == (backbone_cfg is None):
        raise ValueError('give exactly one of a config file or --backbone-cfg')
    if backbone_cfg is not None:
        if isinstance(backbone_cfg, str):
            backbone_cfg = parse_cfg_literal(backbone_cfg)
        # The root registry's class, whatever default scope an earlier caller left set
        # (under scope 'mmdet' the bare name would resolve to mmdet's AconResNet).
        scope = backbone_cfg.get('_scope_', 'mmengine')
        return MODELS.build(dict(backbone_cfg, _scope_=scope)), None
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model
    # Do not fetch pretrained weights while building: the checkpoint comes next.
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone.pop('init_cfg', None)
    return MODELS.build(model_cfg), cfg


def load_checkpoint_into(model: nn.Module, checkpoint: str) -> str:
    """Load a whole-model or backbone checkpoint; returns what it was loaded into.

    Raises CheckpointError naming missing / unexpected / mis-shaped keys.
    """
    state_dict = load_state_dict_file(checkpoint)
    own = model.state_dict()
    has_backbone = hasattr(model, 'backbone') and isinstance(model.backbone, nn.Module)
    if any(k in own for k in state_dict):
        load_into(model, state_dict, 'model')
        return 'model'
    backbone_sd = select_prefix(state_dict, 'backbone.')
    if has_backbone:
        load_into(model.backbone, backbone_sd or state_dict, 'backbone')
        return 'backbone'
    if backbone_sd:
        load_into(model, backbone_sd, 'backbone')
        return 'model (from backbone.* keys)'
    load_into(model, state_dict, 'model')  # raises with the key report
    return 'model'


def feature_fn(model: nn.Module):
    """The tensor -> features function: ``extract_feat`` of a detector / segmentor, else call."""
    if hasattr(model, 'extract_feat'):
        return model.extract_feat
    return model


def head_fn(model: nn.Module):
    """The tensor -> raw head outputs function: ``model._forward`` (mmdet / mmseg tensor mode).

    The outputs before post-processing: a single-stage detector's per-level class scores
    and box regressions, a segmentor's logits at feature resolution. A two-stage detector's
    RoI head needs proposals and image metas, so it has no such function: ``ValueError``.
    """
    if not hasattr(model, '_forward'):
        raise ValueError(f'--head needs a detector or segmentor config: the '
                         f'{type(model).__name__} has no _forward (its tensor mode)')
    if getattr(model, 'with_rpn', False) or getattr(model, 'with_roi_head', False):
        raise ValueError(f'--head: the {type(model).__name__} is a two-stage detector, whose '
                         f'RoI head needs proposals and image metas; export its features '
                         f'(without --head) or deploy the whole detector with mmdeploy')
    return lambda x: model._forward(x)
