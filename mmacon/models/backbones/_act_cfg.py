"""Checks of a backbone's ``act_cfg``: which activation replaces the plain one."""
from __future__ import annotations

from collections.abc import Sequence

from ..activations._checks import check_act_type


def check_act_cfg(owner: str, act_cfg: dict | None,
                  plain: Sequence[str] = ('ReLU', )) -> dict | None:
    """Validate ``act_cfg``; return ``None`` for "keep the plain activation".

    ``None`` and a type in ``plain`` (the backbone's own activation) mean no replacement.
    Any other type must be registered in mmengine's root ``MODELS`` (``AconC``,
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
