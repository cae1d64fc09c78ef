"""Runtime utilities of the mmacon tools.

- :mod:`.checkpoint`: ``weights_only`` allow-list, checkpoint checks and loaders, one
  module each;
- :mod:`.run_checks`: what ``tools/train.py`` / ``tools/test.py`` check before a Runner;
- :mod:`.scope`: the package (mmdet / mmseg) a config runs with;
- :mod:`.cpu_dist`: distributed training on CPU (gloo);
- :mod:`.device_aware_runner`: ``DeviceAwareRunner`` (CPU environment log, SyncBN on gloo);
- :mod:`.run_setup`: where a run ran (torch, device, threads, processes), logged and read back;
- :mod:`.model_loading`, :mod:`.sample_inputs`: models and inputs of the analysis tools.
"""
from .checkpoint import (SAFE_GLOBALS, CheckpointError, CheckpointNotFoundError,
                         check_checkpoint_file, load_checkpoint_file, load_state_dict_file,
                         register_safe_globals)
from .cpu_dist import init_cpu_dist, setup_cpu_distributed
from .run_checks import (check_amp, check_checkpoint, check_data_paths, check_pretrained,
                         check_resume, missing_data_paths)
from .scope import register_scope

__all__ = ['SAFE_GLOBALS', 'CheckpointError', 'CheckpointNotFoundError',
           'check_checkpoint_file', 'load_checkpoint_file', 'load_state_dict_file',
           'register_safe_globals', 'init_cpu_dist', 'setup_cpu_distributed', 'check_amp',
           'check_checkpoint', 'check_data_paths', 'check_pretrained', 'check_resume',
           'missing_data_paths', 'register_scope']
