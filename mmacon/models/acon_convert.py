"""ACON outside backbones: turn a model's ``ConvModule`` activations into ACON of the right width.

An ACON module needs ``channels``, which mmcv's ``ConvModule`` does not pass to its
activation, so ``act_cfg=dict(type='AconC')`` in a neck or head fails (with an error
that says to write ``channels=<the conv's out_channels>``). :func:`acon_convert` fills
it instead: it builds the upstream model unchanged, then replaces each targeted
``ConvModule``'s activation by ``act_cfg`` with ``channels`` = that conv's
``out_channels`` (its ``in_channels`` where ``'act'`` comes before ``'conv'`` in the
module's ``order``). From a config it is the registered function ``'AconConvert'``::

    model = dict(type='AconConvert', model=dict(type='FCOS', ...),  # the upstream model cfg
                 act_cfg=dict(type='AconC'), include=('neck', 'bbox_head'))

``MODELS.build`` returns what the function returns, so the Runner gets the upstream
model object itself (with ACON inside); only its config is wrapped. Code that reads
``cfg.model.backbone`` (mmdet's ``init_detector``, mmseg's ``init_model``) sees the
wrapper instead: build such a model with ``MODELS.build(cfg.model)`` and load its
checkpoint with mmengine's ``load_checkpoint``.
"""
from __future__ import annotations

from collections.abc import Sequence

from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.registry import MODELS
from torch import nn

from .activations._checks import check_act_type, check_channels_arg

__all__ = ['acon_convert']


def _act_width(module: ConvModule) -> int:
    order = module.order
    if order.index('act') < order.index('conv'):
        return module.conv.in_channels
    return module.conv.out_channels


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + '.') for p in prefixes)


def _as_tuple(name: str, value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value, )
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f'AconConvert: {name} must be module names (str), got {value!r}')
    return tuple(value)


def acon_convert(model: nn.Module | dict,
                 act_cfg: dict = dict(type='AconC'),
                 include: str | Sequence[str] | None = None,
                 exclude: str | Sequence[str] = (),
                 data_preprocessor: dict | None = None) -> nn.Module:
    """Replace the activations of ``model``'s ``ConvModule``s by ACON of each conv's width.

    Args:
        model: a module, or a model config built with ``MODELS.build`` in the current
            default scope (``default_scope='mmdet'`` etc. in a config).
        act_cfg: the activation without ``channels`` (filled per ``ConvModule``), e.g.
            ``dict(type='AconC')`` or ``dict(type='MetaAconC', reduction=16)``.
        include: names in the model (``'neck'``, ``'bbox_head'``, ``'decode_head.convs'``)
            whose ``ConvModule``s convert; None: every one in the model.
        exclude: names to leave alone inside ``include`` (e.g. ``'backbone'``).
        data_preprocessor: passed into a config ``model`` that lacks one (mmengine's
            Runner hands a config's top-level ``data_preprocessor`` to the model it builds).

    Only ``ConvModule``s that have an activation convert: one built with ``act_cfg=None``
    (e.g. mmdet's FPN by default) stays linear. Raises when nothing converts or a name in
    ``include``/``exclude`` is not in the model. Returns ``model`` itself, converted in place.
    """
    if isinstance(model, dict):
        model = dict(model)
        if data_preprocessor is not None:
            model.setdefault('data_preprocessor', data_preprocessor)
        model = MODELS.build(model)
    if not isinstance(model, nn.Module):
        raise TypeError(f'AconConvert: model must be an nn.Module or a model config, '
                        f'got {type(model).__name__}')
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise TypeError(f"AconConvert: act_cfg must be a dict with a 'type', got {act_cfg!r}")
    check_act_type('AconConvert', act_cfg)
    if 'channels' in act_cfg:
        raise ValueError(f'AconConvert: act_cfg {act_cfg!r} sets channels; leave it out, '
                         "each ConvModule's conv width fills it")
    include = _as_tuple('include', include)
    exclude = _as_tuple('exclude', exclude)
    names = dict(model.named_modules())
    for key, prefixes in (('include', include or ()), ('exclude', exclude)):
        for prefix in prefixes:
            if prefix not in names:
                children = ', '.join(n for n, _ in model.named_children())
                raise KeyError(f'AconConvert: {key} names {prefix!r}, which is not in the '
                               f'{type(model).__name__}; its top-level modules: {children}')
    converted = 0
    for path, module in names.items():
        if not isinstance(module, ConvModule) or not module.with_activation:
            continue
        if include is not None and not _under(path, include):
            continue
        if _under(path, exclude):
            continue
        width = check_channels_arg(f'AconConvert ({path})', _act_width(module))
        cfg = dict(act_cfg, channels=width)
        module.activate = build_activation_layer(cfg)
        module.act_cfg = cfg
        converted += 1
    if converted == 0:
        where = f'under {include}' if include is not None else 'in the model'
        raise ValueError(f'AconConvert: no ConvModule with an activation {where} of the '
                         f'{type(model).__name__} (one built with act_cfg=None has none: give '
                         f"it act_cfg=dict(type='ReLU') in its config to convert it)")
    return model


MODELS.register_module('AconConvert', module=acon_convert)
