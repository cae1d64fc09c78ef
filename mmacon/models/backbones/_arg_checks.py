"""Argument checks of the ACON backbones, raising :class:`ArgumentError`."""
from __future__ import annotations

from collections.abc import Sequence


class ArgumentError(ValueError, AssertionError):
    """A backbone argument out of range.

    Both a ``ValueError`` (what the value is) and an ``AssertionError`` (what upstream's
    ``ResNet`` raises for the same arguments), so ``pytest.raises`` and ``except`` clauses
    written for either mmdet/mmseg or for us catch it.
    """


def check_choice(owner: str, name: str, value, choices: Sequence) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ArgumentError(f'{owner}: {name} must be one of {tuple(choices)}, '
                            f'got {value!r}')


def check_out_indices(owner: str, out_indices: Sequence[int] | int,
                      num_outputs: int) -> tuple[int, ...]:
    """Each index must lie in ``[-num_outputs, num_outputs)``; returns them non-negative."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    out_indices = tuple(out_indices)
    if len(out_indices) == 0:
        raise ArgumentError(f'{owner}: out_indices must not be empty')
    result = []
    for index in out_indices:
        if isinstance(index, bool) or not isinstance(index, int) or \
                not -num_outputs <= index < num_outputs:
            raise ArgumentError(f'{owner}: out_indices {out_indices!r} contains {index!r}, '
                                f'valid indices are 0..{num_outputs - 1} '
                                f'({num_outputs} outputs)')
        result.append(index % num_outputs)
    return tuple(result)


def check_frozen_stages(owner: str, frozen_stages: int, max_stages: int) -> int:
    """``frozen_stages`` must be an int in ``-1..max_stages``."""
    if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) or \
            not -1 <= frozen_stages <= max_stages:
        raise ArgumentError(f'{owner}: frozen_stages must be in -1..{max_stages}, '
                            f'got {frozen_stages!r}')
    return frozen_stages
