"""tools/dist_train.sh: 2 processes on CPU (gloo) train a few iterations in sync."""
import glob
import os.path as osp

import pytest
import torch

from conftest import SEG_CONFIG, TOOLS, free_port, python, run, seg_options

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]


def test_dist_train_two_cpu_processes(tiny_cityscapes, tmp_path):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    work_dir = str(tmp_path / 'dist')
    options = seg_options(tiny_cityscapes, iters=3, val=False) + [
        "custom_imports.imports=[mmacon,_param_dump_hook]",
        "custom_hooks=[dict(type=ParamDumpHook)]",
    ]
    proc = run(['bash', osp.join(TOOLS, 'dist_train.sh'), SEG_CONFIG, '2',
                '--work-dir', work_dir, '--cfg-options'] + options,
               timeout=400, PYTHON=python(), PORT=str(free_port()))
    log = proc.stdout + proc.stderr
    assert "'backend': 'gloo'" in log or 'gloo' in log
    assert 'Distributed training is not used' not in log
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
    # 3 iterations x 2 processes x 2 images, from the logged world size
    assert 'world_size: 2' in log or 'World size: 2' in log
