import socket

import pytest
import torch
import torch.distributed as dist


@pytest.fixture
def single_process_gloo(monkeypatch):
    """One-process launcher environment on a free local port, CUDA hidden: the CPU path
    of ``tools/train.py --launcher pytorch``. The process group is destroyed afterwards."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                           MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()
