"""Checkpoint files under ``torch.load(weights_only=True)``, one job a module:

- :mod:`.allow_list`: the exact mmengine types a training checkpoint needs, and
  :func:`register_safe_globals`, the one place that adds them to torch's allow-list;
- :mod:`.scan`: :func:`check_checkpoint_file`, which names what is wrong with a file
  without running a pickle;
- :mod:`.load`: the tools' loaders (:func:`load_checkpoint_file`, ...), which register
  the allow-list before they load.
"""
from .allow_list import SAFE_GLOBALS, history_buffer_getattr, register_safe_globals
from .load import (load_checkpoint_file, load_into, load_state_dict_file, select_prefix,
                   strip_prefixes, unwrap_state_dict)
from .scan import CheckpointError, CheckpointNotFoundError, check_checkpoint_file

__all__ = ['SAFE_GLOBALS', 'history_buffer_getattr', 'register_safe_globals',
           'CheckpointError', 'CheckpointNotFoundError', 'check_checkpoint_file',
           'load_checkpoint_file', 'load_into', 'load_state_dict_file', 'select_prefix',
           'strip_prefixes', 'unwrap_state_dict']
