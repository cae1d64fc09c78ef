"""An mmengine ``Runner`` that tells the truth about CPU runs.

mmengine 0.10.7's Runner logs ``GPU number: <world size>`` whatever the device, and its
DDP wrapper refuses SyncBN layers on CPU ("SyncBatchNorm layers only work with GPU
modules"), which every upstream mmseg config uses. Without CUDA,
:class:`DeviceAwareRunner`

* logs ``Device: cpu`` and ``Process number: N`` instead of ``GPU number: N``;
* in a distributed (gloo) run converts every SyncBN layer (torch's and mmcv's) to plain
  BN before wrapping, and logs how many: each process then normalises over its own
  batch, as a single-process run does (mmengine itself reverts SyncBN there).

In both cases it adds one line, ``Run setup: {...}``: the torch version, device, CPU
capability, threads and processes of the run (:mod:`mmacon.utils.run_setup`), which
``tools/benchmark.py`` records. With CUDA it is otherwise mmengine's Runner unchanged.
``tools/train.py`` / ``tools/test.py`` build it unless the config names its own
``runner_type``.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.runner import Runner
from mmengine.utils.dl_utils import collect_env

from .run_setup import setup_line

SYNC_BN_TYPES = ('SyncBatchNorm', )  # torch.nn.SyncBatchNorm and mmcv.ops.SyncBatchNorm


def count_sync_bn(model: torch.nn.Module) -> int:
    """Number of SyncBN layers (torch's or mmcv's) in ``model``."""
    return sum(type(m).__name__ in SYNC_BN_TYPES for m in model.modules())


class DeviceAwareRunner(Runner):
    """``Runner`` whose environment log and DDP wrapping fit a CPU run (see module doc)."""

    def _log_env(self, env_cfg: dict) -> None:
        self._log_device_env(env_cfg)
        # one machine-readable line: what a comparison of runs needs (mmacon.utils.run_setup)
        self.logger.info(setup_line(self._world_size))

    def _log_device_env(self, env_cfg: dict) -> None:
        if torch.cuda.is_available():
            return super()._log_env(env_cfg)
        env = collect_env()
        runtime_env = OrderedDict(env_cfg)
        runtime_env.update(self._randomness_cfg)
        runtime_env['seed'] = self._seed
        runtime_env['Distributed launcher'] = self._launcher
        runtime_env['Distributed training'] = self._distributed
        runtime_env['Device'] = 'cpu'
        runtime_env['Process number'] = self._world_size
        dash = '-' * 60
        lines = lambda d: '\n    ' + '\n    '.join(f'{k}: {v}' for k, v in d.items())  # noqa
        self.logger.info(f'\n{dash}\nSystem environment:{lines(env)}\n\nRuntime '
                         f'environment:{lines(runtime_env)}\n{dash}\n')
        if self.cfg._cfg_dict:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')

    def wrap_model(self, model_wrapper_cfg, model):
        if self.distributed and not torch.cuda.is_available():
            n = count_sync_bn(model)
            if n:
                model = revert_sync_batchnorm(model)
                self.logger.info(
                    f'CPU distributed training (gloo): converted {n} SyncBN layers to BN '
                    '(torch supports SyncBN on GPUs only); each process normalises over '
                    'its own batch')
            if self.cfg.get('sync_bn'):
                self.logger.info(f'CPU distributed training: ignoring sync_bn='
                                 f'{self.cfg.sync_bn!r} (GPU only)')
                self.cfg.sync_bn = None
        return super().wrap_model(model_wrapper_cfg, model)
