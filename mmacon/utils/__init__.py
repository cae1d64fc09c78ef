"""Runtime utilities: checkpoint safe-globals, CPU distributed, tool helpers."""
from .checkpoint import SAFE_GLOBALS, register_safe_globals
from .dist import init_cpu_dist, setup_cpu_distributed
from .setup import (check_checkpoint, check_data_paths, check_pretrained,
                    missing_data_paths, register_scope)

__all__ = ['SAFE_GLOBALS', 'register_safe_globals', 'init_cpu_dist',
           'setup_cpu_distributed', 'check_checkpoint', 'check_data_paths', 'check_pretrained',
           'missing_data_paths', 'register_scope']
