"""Input validation shared by the activation modules: errors that name the values."""
from __future__ import annotations

import torch
from torch import Tensor


def check_channels_arg(name: str, channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise ValueError(f'{name}: `channels` must be a positive int, got {channels!r}')
    return channels


def check_input(name: str, x: Tensor, channels: int, ndim: int | None = None) -> None:
    """Raise a ValueError naming the shape when ``x`` does not fit the module.

    Skipped while tracing (ONNX export): the traced sizes are symbolic there.
    """
    if torch.jit.is_tracing():
        return
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f'{name} expects a {ndim}-D (N, C, H, W) input, '
                         f'got a {x.dim()}-D tensor of shape {tuple(x.shape)}')
    if x.dim() < 2:
        raise ValueError(f'{name} expects an (N, C, *) input, got shape {tuple(x.shape)}')
    if x.size(1) != channels:
        raise ValueError(f'{name} was built for {channels} channels but got an input '
                         f'with {x.size(1)} channels (shape {tuple(x.shape)})')
