"""Input validation shared by the activation modules: errors that name the values.

- :func:`checked_args`: a class decorator; a typo'd or missing constructor argument
  raises one ``TypeError`` naming the class, the argument, the close match and the
  valid arguments (a missing ``channels`` inside a ``ConvModule`` also names its conv's
  width).
- :class:`ConfigArgumentError`: a bad config value where upstream asserts.
- :func:`check_input`: an input of the wrong rank or width raises a ``ValueError``
  naming the module's path in the model (:func:`module_path`).
- :func:`check_act_type`: an ``act_cfg`` type that is not registered raises a
  ``KeyError`` naming the close match among the registered activations, for the places
  where mmacon builds the activation itself (backbones, ``AconConvert``).

Both do their work on the error path only: the normal path costs a signature bind at
construction and a size comparison per forward.
"""
from __future__ import annotations

import difflib
import functools
import inspect
import sys
from types import FrameType

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

CONVERT_HINT = ("or let mmacon fill it: model=dict(type='AconConvert', model_type=<your model's "
                "type>, convert=dict(act_cfg=...)) in a config, "
                'mmacon.models.acon_convert(model, act_cfg) in Python')


class ConfigArgumentError(ValueError, AssertionError):
    """A config argument missing or out of range (e.g. GN's ``num_groups`` in ``norm_cfg``).

    Both a ``ValueError`` (what the project raises for a bad value) and an
    ``AssertionError`` (what mmcv's ``build_norm_layer`` raises for the same config), so
    ``except`` clauses written for either catch it.
    """


def check_channels_arg(name: str, channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise ValueError(f'{name}: `channels` must be a positive int, got {channels!r}')
    return channels


# --------------------------------------------------------------------------- module paths
def _modules_on_stack(frame: FrameType | None) -> list[nn.Module]:
    """The ``nn.Module`` objects whose methods are running, innermost first."""
    found: list[nn.Module] = []
    while frame is not None:
        obj = frame.f_locals.get('self')
        if isinstance(obj, nn.Module) and not any(obj is m for m in found):
            found.append(obj)
        frame = frame.f_back
    return found


def module_path(module: nn.Module, frame: FrameType | None = None) -> str | None:
    """``module``'s name in the outermost ``nn.Module`` being called (e.g. ``'backbone.layer2.1.acon'``).

    Walks the calling frames for the enclosing modules and looks ``module`` up in the
    outermost one's ``named_modules()``; None when it is called on its own. Meant for
    error and warning messages only (it inspects the stack).
    """
    frame = sys._getframe(1) if frame is None else frame
    for root in reversed(_modules_on_stack(frame)):
        if root is module:
            continue
        try:
            for name, sub in root.named_modules(remove_duplicate=False):
                if sub is module:
                    return name
        except AttributeError:  # a module still in its __init__
            continue
    return None


def describe(module: nn.Module, frame: FrameType | None = None) -> str:
    """``"MetaAconC 'backbone.layer2.1.acon'"``, or the class name alone outside a model."""
    path = module_path(module, sys._getframe(1) if frame is None else frame)
    return f'{type(module).__name__} {path!r}' if path else type(module).__name__


def _caller_module(owner: str | nn.Module, frame: FrameType | None) -> nn.Module | None:
    if isinstance(owner, nn.Module):
        return owner
    for m in _modules_on_stack(frame):
        if type(m).__name__ == owner:
            return m
    return None


def check_input(owner: str | nn.Module, x: Tensor, channels: int, ndim: int | None = None) -> None:
    """Raise a ValueError naming the module (path in the model) and the shape when ``x`` does not fit.

    ``owner``: the module, or its class name (then the module is found on the stack).
    Skipped while tracing (ONNX export): the traced sizes are symbolic there.
    """
    if torch.jit.is_tracing():
        return
    if ndim is not None and x.dim() != ndim:
        problem = (f'expects a {ndim}-D (N, C, H, W) input, '
                   f'got a {x.dim()}-D tensor of shape {tuple(x.shape)}')
    elif x.dim() < 2:
        problem = f'expects an (N, C, *) input, got shape {tuple(x.shape)}'
    elif x.size(1) != channels:
        problem = (f'was built for {channels} channels but got an input '
                   f'with {x.size(1)} channels (shape {tuple(x.shape)})')
    else:
        return
    frame = sys._getframe(1)
    module = _caller_module(owner, frame)
    where = describe(module, frame) if module is not None else str(owner)
    raise ValueError(f'{where} {problem}')


# --------------------------------------------------------------------------- arguments
def _enclosing_conv_width(frame: FrameType | None) -> str:
    """' (here 256: ConvModule 'neck.fpn_convs.0')' when built inside a ConvModule, else ''."""
    for m in _modules_on_stack(frame):
        conv = getattr(m, 'conv', None)
        if hasattr(m, 'act_cfg') and isinstance(getattr(conv, 'out_channels', None), int):
            order = getattr(m, 'order', ('conv', 'norm', 'act'))
            before = 'act' in order and order.index('act') < order.index('conv')
            width = conv.in_channels if before else conv.out_channels
            side = "in_channels, as 'act' comes first in its order" if before else 'out_channels'
            return f' (here {width}: the {type(m).__name__} conv\'s {side})'
    return ''


def _argument_error(cls: type, sig: inspect.Signature, args: tuple, kwargs: dict,
                    error: TypeError, frame: FrameType | None) -> str:
    params = list(sig.parameters.values())[1:]  # drop self
    names = [p.name for p in params]
    valid = ', '.join(p.name if p.default is inspect.Parameter.empty else f'{p.name}={p.default!r}'
                      for p in params)
    name = cls.__name__
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        parts = []
        for key in unknown:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            parts.append(f'{key!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
        return (f'{name} got unknown argument{"s" if len(parts) > 1 else ""} {", ".join(parts)}; '
                f'valid arguments: {valid}')
    given = set(kwargs) | set(names[:len(args)])
    missing = [p.name for p in params if p.default is inspect.Parameter.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in given]
    if 'channels' in missing:
        return (f'{name} needs `channels`, the width of the features it activates: write '
                f"channels=<the conv's out_channels>{_enclosing_conv_width(frame)} in its cfg, "
                f"e.g. act_cfg=dict(type={name!r}, channels=256), {CONVERT_HINT}; "
                f'valid arguments: {valid}')
    if missing:
        return f'{name} misses argument(s) {", ".join(missing)}; valid arguments: {valid}'
    return f'{name}: {error}; valid arguments: {valid}'


def checked_args(cls: type) -> type:
    """Class decorator: constructor argument errors name the class and the valid arguments.

    The arguments are bound to ``__init__``'s signature before it runs; a failed bind
    raises one ``TypeError`` (the type Python raises) with the unknown argument and its
    close match (``did you mean 'reduction'?``) or the missing one.
    """
    init = cls.__init__
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        try:
            sig.bind(self, *args, **kwargs)
        except TypeError as e:
            raise TypeError(_argument_error(cls, sig, args, kwargs, e, sys._getframe(1))) from None
        init(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls


# --------------------------------------------------------------------------- act_cfg types
# Where the activations registered in mmengine's root MODELS are defined: torch's, mmcv's
# and ours (the registry holds convs, norms and more besides).
ACTIVATION_MODULES = ('torch.nn.modules.activation', 'mmcv.cnn.bricks.activation',
                      'mmcv.cnn.bricks.hsigmoid', 'mmcv.cnn.bricks.hswish',
                      'mmcv.cnn.bricks.swish', 'mmacon.models.activations')


def registered_activations() -> list[str]:
    """Sorted names of the activation modules in mmengine's root ``MODELS``."""
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if getattr(cls, '__module__', '').startswith(ACTIVATION_MODULES))


def check_act_type(owner: str, act_cfg: dict) -> None:
    """A name in ``act_cfg['type']`` must be registered where ``MODELS.build`` looks: the
    default scope's registry (``mmdet``'s in an mmdet config) or mmengine's root one.

    Otherwise raises a ``KeyError`` naming ``owner``, the type and its close match among
    the registered activations (case-insensitive: ``'MetaAcon'`` and ``'metaaconc'`` name
    ``'MetaAconC'``), then the registered activations. A class as the type passes.
    """
    act_type = act_cfg.get('type')
    if not isinstance(act_type, str):
        return
    with MODELS.switch_scope_and_registry(None) as registry:  # as MODELS.build looks
        if registry.get(act_type) is not None:
            return
    names = registered_activations()
    lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(act_type.lower(), lower, n=1, cutoff=0.6)
    hint = (f'did you mean {lower[close[0]]!r}?' if close else
            "an activation of another package must be imported first (custom_imports "
            "in a config).")
    raise KeyError(f'{owner}: unknown activation type {act_type!r} in act_cfg {act_cfg!r}; '
                   f'{hint} Registered activations: {", ".join(names)}')
