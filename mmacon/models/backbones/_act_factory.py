"""A backbone's ``act_cfg``: which activation replaces the plain one
(:func:`check_act_cfg`), and the factory that builds it, ``factory(channels) -> nn.Module``.

A backbone checks its ``act_cfg``, makes one :class:`ActFactory` from it and hands it to
every place that needs an activation. The factory fills what the backbone knows:

- ``channels`` (the width at that place), where the class takes it;
- ``defaults`` (e.g. ShuffleNetV2's official ``reduction``) not set in ``act_cfg``;
- ``norm_cfg``: the backbone's normalisation, where the class takes one (Meta-ACON's
  generator, ACON-FReLU's) and ``act_cfg`` sets none: a GN backbone gets GN generators,
  a SyncBN backbone SyncBN ones.

A bad argument in ``act_cfg`` raises the activation's own error, prefixed with the
backbone and the config key (``AconResNet: act_cfg=...``); an error without a message
(a bare ``assert`` in mmcv) is described by its type and the line that raised it.
"""
from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Callable, Sequence

from mmengine.registry import MODELS
from torch import nn

from ..activations._checks import check_act_type


def check_act_cfg(owner: str, act_cfg: dict | None,
                  plain: Sequence[str] = ('ReLU', )) -> dict | None:
    """Validate ``act_cfg``; return ``None`` for "keep the plain activation".

    ``None`` and a type in ``plain`` (the backbone's own activation) mean no replacement.
    Any other type must be registered where ``MODELS.build`` looks (``AconC``,
    ``MetaAconC``, ``AconFReLU``, or a parameter-free one such as ``SiLU`` for Swish)
    or be a class; an unknown name raises a ``KeyError`` naming the close match.
    """
    if act_cfg is None:
        return None
    if not isinstance(act_cfg, dict) or 'type' not in act_cfg:
        raise TypeError(f'{owner}: act_cfg must be None or a dict with a "type" key, '
                        f'got {act_cfg!r}')
    act_type = act_cfg['type']
    if isinstance(act_type, str):
        if act_type in plain:
            return None
        check_act_type(owner, act_cfg)
    elif not callable(act_type):
        raise TypeError(f'{owner}: act_cfg type must be a registered name or a class, '
                        f'got {act_type!r}')
    return dict(act_cfg)


def _parameters(cls) -> dict:
    try:
        return dict(inspect.signature(cls).parameters)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return {}


def build_act(act_cfg: dict, channels: int, *, owner: str = 'backbone',
              defaults: dict | None = None, norm_cfg: dict | None = None) -> nn.Module:
    """Build the activation of ``act_cfg`` at width ``channels`` (see the module doc)."""
    cfg = dict(act_cfg)
    act_type = cfg['type']
    if isinstance(act_type, str):
        with MODELS.switch_scope_and_registry(None) as registry:  # where build looks
            cls = registry.get(act_type)
    else:
        cls = act_type
    params = _parameters(cls)
    fill = dict(defaults or {}, channels=channels)
    if norm_cfg is not None:
        fill['norm_cfg'] = dict(norm_cfg)
    for key, value in fill.items():
        if key in params:
            cfg.setdefault(key, value)
    try:
        return MODELS.build(cfg)
    except (TypeError, ValueError, KeyError, AssertionError) as err:
        raise type(err)(f'{owner}: act_cfg={act_cfg!r} cannot be built at {channels} '
                        f'channels: {error_text(err)}') from err


def error_text(err: BaseException) -> str:
    """``err``'s message; for one without (a bare ``assert``), its type, the line that
    raised it and a hint, e.g. ``AssertionError without a message, raised at
    mmcv/cnn/bricks/norm.py:124: assert 'num_groups' in cfg_ (...)``."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    if text.strip():
        return text
    frames = traceback.extract_tb(err.__traceback__)
    where = ''
    if frames:
        filename = frames[-1].filename.replace(os.sep, '/').rsplit('site-packages/', 1)[-1]
        where = f', raised at {filename}:{frames[-1].lineno}: {frames[-1].line}'
    return (f'{type(err).__name__} without a message{where} (that line names what is '
            f'missing or wrong: an argument of act_cfg or of its norm_cfg)')


class ActFactory:
    """``factory(channels)``: the backbone's activation at that width.

    Args:
        owner: the backbone's name, for error messages.
        act_cfg: a checked ``act_cfg`` (see :func:`check_act_cfg`); ``None`` builds
            ``plain()``.
        plain: the backbone's own activation, e.g. ``lambda: nn.ReLU(inplace=True)``.
        defaults: values for the activation's arguments that ``act_cfg`` does not set.
        norm_cfg: the backbone's ``norm_cfg``, used where the activation takes one.
    """

    def __init__(self, owner: str, act_cfg: dict | None,
                 plain: Callable[[], nn.Module] = lambda: nn.ReLU(inplace=True),
                 defaults: dict | None = None, norm_cfg: dict | None = None) -> None:
        self.owner = owner
        self.act_cfg = act_cfg
        self.plain = plain
        self.defaults = dict(defaults or {})
        self.norm_cfg = norm_cfg

    @property
    def enabled(self) -> bool:
        """False where ``act_cfg`` keeps the plain activation."""
        return self.act_cfg is not None

    def __call__(self, channels: int) -> nn.Module:
        if self.act_cfg is None:
            return self.plain()
        return build_act(self.act_cfg, channels, owner=self.owner, defaults=self.defaults,
                         norm_cfg=self.norm_cfg)

    def __repr__(self) -> str:
        return f'ActFactory({self.owner!r}, {self.act_cfg!r}, norm_cfg={self.norm_cfg!r})'
