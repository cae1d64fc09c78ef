"""DeviceAwareRunner: on CPU it logs the device and process count (not "GPU number") and,
in a gloo run, converts SyncBN to BN, where mmengine's Runner fails to wrap the model."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmacon.utils.cpu_dist import setup_cpu_distributed
from mmacon.utils.device_aware_runner import DeviceAwareRunner, count_sync_bn
from mmacon.utils.run_setup import parse_setup


class SyncBNModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        self.bn = torch.nn.SyncBatchNorm(4)
        self.head = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 1), torch.nn.SyncBatchNorm(4))

    def forward(self, x, data_samples=None, mode='tensor'):
        return self.head(self.bn(self.conv(x)))


def _log(work_dir):
    (path, ) = glob.glob(osp.join(work_dir, '*', '*.log'))
    return open(path).read()


def _runner(cls, work_dir, name):
    from mmengine.config import Config
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg, 'pytorch')
    model = SyncBNModel()
    return cls(model=model, work_dir=str(work_dir), launcher='pytorch',
               env_cfg=cfg.env_cfg,
               experiment_name=name, cfg=cfg)


def test_gloo_run_converts_sync_bn_and_logs_the_device(single_process_gloo, tmp_path):
    # the oracle: mmengine's own Runner cannot wrap a SyncBN model on CPU
    with pytest.raises(ValueError, match='SyncBatchNorm layers only work with GPU modules'):
        _runner(Runner, tmp_path / 'plain', 'plain')
    runner = _runner(DeviceAwareRunner, tmp_path / 'ours', 'ours')
    module = runner.model.module
    assert count_sync_bn(module) == 0
    assert type(module.bn).__name__ == '_BatchNormXd' and module.bn.num_features == 4
    log = _log(tmp_path / 'ours')
    assert 'converted 2 SyncBN layers to BN' in log
    assert 'Device: cpu' in log and 'Process number: 1' in log
    assert 'GPU number' not in log
    out = runner.model(torch.randn(2, 3, 4, 4))
    assert out.shape == (2, 4, 4, 4)


def test_count_sync_bn():
    assert count_sync_bn(SyncBNModel()) == 2
    assert count_sync_bn(torch.nn.BatchNorm2d(3)) == 0


def test_single_process_cpu_log(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    DeviceAwareRunner(model=SyncBNModel(), work_dir=str(tmp_path), experiment_name='single')
    log = _log(tmp_path)
    assert 'Device: cpu' in log and 'Process number: 1' in log and 'GPU number' not in log
    assert 'Distributed training: False' in log
    # the setup a comparison of runs needs, machine-readable (tools/benchmark.py reads it)
    assert parse_setup(log.splitlines()) == dict(
        torch=torch.__version__, device='cpu', processes=1,
        cpu_capability=torch.backends.cpu.get_cpu_capability(), threads=torch.get_num_threads())
