"""setup_cpu_distributed: gloo process group + CPU DDP wrapper when CUDA is absent."""
import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmacon.utils import setup_cpu_distributed


def _cfg(**kwargs):
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')), **kwargs))


def test_no_launcher_is_a_no_op():
    cfg = _cfg()
    assert setup_cpu_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


def test_cuda_path_untouched(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg()
    assert setup_cpu_distributed(cfg, 'pytorch') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg
    assert not dist.is_initialized()


def test_cpu_pytorch_launcher(single_process_gloo):
    cfg = _cfg(find_unused_parameters=True)
    assert setup_cpu_distributed(cfg, 'pytorch') is True
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False, find_unused_parameters=True)
    # mmengine's Runner.setup_env initialises only when not yet initialised
    from mmengine.dist import is_distributed
    assert is_distributed()
    # the wrapper builds a CPU DDP as the Runner would (device_ids not overridden)
    from mmengine.registry import MODEL_WRAPPERS
    from mmengine.model import BaseModel

    class Tiny(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, x, mode='tensor'):
            return self.fc(x)

    wrapper_cfg = dict(cfg.model_wrapper_cfg)
    ddp = MODEL_WRAPPERS.build(wrapper_cfg, default_args=dict(module=Tiny(), device_ids=[0]))
    assert ddp.device_ids is None
    assert ddp(torch.ones(1, 2)).shape == (1, 2)


def test_existing_wrapper_cfg_gets_cpu_devices(single_process_gloo):
    cfg = _cfg(model_wrapper_cfg=dict(type='MMDistributedDataParallel', device_ids=[0],
                                      find_unused_parameters=True))
    setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True


def test_missing_env_is_clear(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(KeyError, match='RANK'):
        setup_cpu_distributed(_cfg(), 'pytorch')
