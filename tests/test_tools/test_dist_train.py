"""tools/dist_train.sh: 2 processes on CPU (gloo) train a few iterations in sync, with
SyncBN in the config (as every upstream mmseg config has): converted to BN on CPU."""
import glob
import os.path as osp

import pytest
import torch

from tests.test_tools.tool_helpers import SEG_CONFIG, TOOLS, free_port, python, run, seg_options

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]


def test_dist_train_two_cpu_processes(tiny_cityscapes, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    work_dir = str(tmp_path / 'dist')
    # the tiny config plus a hook that saves each rank's parameters after training
    config = tmp_path / 'dist_config.py'
    config.write_text(
        f'_base_ = {SEG_CONFIG!r}\n'
        "custom_imports = dict(imports=['mmacon', 'tests.test_tools._param_dump_hook'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='ParamDumpHook')]\n"
        "sync_bn = dict(type='SyncBN', requires_grad=True)\n"
        'model = dict(backbone=dict(norm_cfg=sync_bn), decode_head=dict(norm_cfg=sync_bn))\n')
    from mmengine.config import Config

    from mmacon.utils.model_loading import build_model
    from mmacon.utils.device_aware_runner import count_sync_bn
    model, _ = build_model(str(config))
    num_sync_bn = count_sync_bn(model)
    assert num_sync_bn > 20  # the backbone's and the decode head's norms
    assert Config.fromfile(str(config)).model.backbone.norm_cfg.type == 'SyncBN'
    options = seg_options(tiny_cityscapes, iters=3, val=False)
    proc = run(['bash', osp.join(TOOLS, 'dist_train.sh'), str(config), '2',
                '--work-dir', work_dir, '--cfg-options'] + options,
               timeout=400, PYTHON=python(), PORT=str(free_port()))
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'Distributed launcher: pytorch' in log
    # the environment as it is: CPU processes, not GPUs; SyncBN converted (each rank; rank 0 logs)
    assert 'Device: cpu' in log and 'Process number: 2' in log and 'GPU number' not in log
    assert log.count(f'converted {num_sync_bn} SyncBN layers to BN') == 1  # rank 0 logs
    # both ranks finished training
    dumps = sorted(glob.glob(osp.join(work_dir, 'params_rank*.pth')))
    assert [osp.basename(p) for p in dumps] == ['params_rank0.pth', 'params_rank1.pth']
    # exactly one checkpoint (rank 0 saves)
    assert [osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth'))
            if 'params_rank' not in p] == ['iter_3.pth']
    # DDP kept the replicas identical
    p0, p1 = (torch.load(p, map_location='cpu') for p in dumps)
    assert p0.keys() == p1.keys() and len(p0) > 0
    for k in p0:
        assert torch.equal(p0[k], p1[k]), k
    ckpt = torch.load(osp.join(work_dir, 'iter_3.pth'), map_location='cpu')
    for k, v in p0.items():
        assert torch.equal(ckpt['state_dict'][k], v), k
    assert 'Iter(train) [3/3]' in log
