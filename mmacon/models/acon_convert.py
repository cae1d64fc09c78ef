"""ACON outside backbones: turn a model's ``ConvModule`` activations into ACON of the right width.

An ACON module needs ``channels``, which mmcv's ``ConvModule`` does not pass to its
activation, so ``act_cfg=dict(type='AconC')`` in a neck or head fails (with an error
that says to write ``channels=<the conv's out_channels>``). :func:`acon_convert` fills
it instead: it takes the upstream model unchanged, then replaces each targeted
``ConvModule``'s activation by ``act_cfg`` with ``channels`` = that conv's
``out_channels`` (its ``in_channels`` where ``'act'`` comes before ``'conv'`` in the
module's ``order``).

From a config it is the registered builder ``'AconConvert'``. The model dict keeps the
upstream model's own fields at its top level and adds two keys, so a config that
inherits an upstream model changes ``type`` and names the type it had::

    _base_ = './retinanet_r18-relu_fpn_tiny-coco.py'   # model = dict(type='RetinaNet', ...)
    model = dict(type='AconConvert', model_type='RetinaNet',
                 convert=dict(act_cfg=dict(type='AconC'), include=('neck', 'bbox_head')))

``model_type`` is the upstream model's type; ``convert`` holds :func:`acon_convert`'s
arguments (``act_cfg``, ``include``, ``exclude``); every other key (``backbone``,
``neck``, ``data_preprocessor``, ``train_cfg``, ``init_cfg``, ``pretrained``, ...) goes
to the upstream model. So the code that reads or sets ``cfg.model.<field>`` (mmdet's
``init_detector``, mmseg's ``init_model``, the inferencers, mmengine's Runner, the tools)
sees the upstream fields where it expects them, and ``MODELS.build`` returns the
upstream model object itself, with ACON inside: its ``state_dict`` is upstream's plus
each converted activation's parameters, and checkpoints load into it as into any model.
"""
from __future__ import annotations

from collections.abc import Sequence

from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.registry import MODELS
from torch import nn

from .activations._checks import check_act_type, check_channels_arg

__all__ = ['acon_convert', 'build_acon_converted']


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


# acon_convert's arguments that a config's ``convert`` holds (``model`` is the rest).
CONVERT_KEYS = ('act_cfg', 'include', 'exclude')


def _config_form(model_type: str, convert: dict) -> str:
    """The config a user should write, with their values: for error messages."""
    args = ', '.join(f'{k}={v!r}' for k, v in convert.items())
    return (f"model=dict(type='AconConvert', model_type={model_type!r}, "
            f"convert=dict({args}), <the {model_type}'s own fields: backbone=..., ...>)")


def _type_name(model_type) -> str:
    return model_type if isinstance(model_type, str) else getattr(model_type, '__name__', '?')


@MODELS.register_module('AconConvert')
def build_acon_converted(model_type: str | type | None = None,
                         convert: dict | None = None,
                         **model_cfg) -> nn.Module:
    """Build the upstream model ``dict(type=model_type, **model_cfg)`` with ACON inside.

    The function a config's ``model=dict(type='AconConvert', ...)`` calls (see the module
    doc): ``convert`` holds :func:`acon_convert`'s arguments (``act_cfg``, default
    ``dict(type='AconC')``; ``include``, default every ``ConvModule``; ``exclude``); the
    upstream model gets every other key. It is built in the current default scope, as
    any model (``default_scope='mmdet'`` in the config, or ``_scope_='mmdet'`` in the model
    dict). Returns the upstream model object.
    """
    if model_type is None:
        nested = model_cfg.get('model')
        if isinstance(nested, dict) and 'type' in nested:
            # the first form of AconConvert: the upstream model nested under `model`
            args = {k: model_cfg[k] for k in CONVERT_KEYS if k in model_cfg}
            raise TypeError(
                f'AconConvert: the nested form model=dict(type={nested["type"]!r}, ...) beside '
                f'{", ".join(args) or "act_cfg"} is not supported: the entry points that read '
                f'cfg.model.backbone or set cfg.model.pretrained (init_detector, init_model) '
                f'cannot see into it. Keep the upstream model\'s fields at the top level: '
                f'{_config_form(_type_name(nested["type"]), args)}')
        raise TypeError(
            "AconConvert needs model_type, the type of the upstream model it converts, e.g. "
            "model=dict(type='AconConvert', model_type='RetinaNet', convert=dict(act_cfg="
            "dict(type='AconC'), include=('neck', 'bbox_head')), <RetinaNet's fields>); got "
            f'the keys {sorted(model_cfg)}')
    convert = {} if convert is None else convert
    if not isinstance(convert, dict):
        raise TypeError(f'AconConvert: convert must be a dict of {CONVERT_KEYS}, got '
                        f'{convert!r}')
    unknown = [k for k in convert if k not in CONVERT_KEYS]
    if unknown:
        raise TypeError(f'AconConvert: convert has {unknown[0]!r}, which is not one of '
                        f'{CONVERT_KEYS} (the arguments of acon_convert); the upstream model\'s '
                        'own fields go beside convert, at the top level of the model dict')
    name = _type_name(model_type)
    with MODELS.switch_scope_and_registry(None) as registry:
        cls = registry.get(model_type) if isinstance(model_type, str) else model_type
        if cls is None:
            raise KeyError(f'AconConvert: model_type {model_type!r} is not in the '
                           f'{registry.scope}::{registry.name} registry (set the config\'s '
                           "default_scope, e.g. default_scope='mmdet', or the model's: "
                           "model=dict(type='AconConvert', _scope_='mmdet', ...))")
        if cls is build_acon_converted:
            raise ValueError('AconConvert: model_type must be the upstream model\'s type, '
                             "got 'AconConvert' itself")
        try:
            model = registry.build(dict(type=model_type, **model_cfg))
        except TypeError as err:
            stray = [k for k in CONVERT_KEYS if k in model_cfg and f"'{k}'" in str(err)]
            if not stray:
                raise
            raise TypeError(f'AconConvert: {stray[0]}={model_cfg[stray[0]]!r} went to the '
                            f'{name}, which does not take it ({err}); acon_convert\'s '
                            f'arguments go into convert: '
                            f'{_config_form(name, {k: model_cfg[k] for k in stray})}') from err
    return acon_convert(model, **convert)
