"""tools/benchmark.py: the command line (dry run, spec file, errors) and a failing stage 1."""
import json
import os.path as osp

import pytest

from tests.test_tools.tool_helpers import DET_CONFIG, REPO, SEG_CONFIG, load_tool

benchmark = load_tool('tools/benchmark.py')
RELU_DET = DET_CONFIG.replace('metaacon', 'relu')
RELU_SEG = SEG_CONFIG.replace('metaacon', 'relu')


def test_dry_run_two_stages(capsys, tmp_path):
    assert benchmark.main([DET_CONFIG, RELU_DET, '--pretrain', SEG_CONFIG, RELU_SEG,
                           '--seeds', '0', '5', '--work-dir', str(tmp_path), '--dry-run',
                           '--cfg-options', 'train_cfg.max_iters=7']) == 0
    out = capsys.readouterr().out
    names = [line[2:] for line in out.splitlines() if line.startswith('# ')]
    assert names == [
        'pretrain/pspnet_r18-d8-metaacon_tiny-cityscapes/seed0',
        'pretrain/pspnet_r18-d8-relu_tiny-cityscapes/seed0',
        'pretrain/pspnet_r18-d8-metaacon_tiny-cityscapes/seed5',
        'pretrain/pspnet_r18-d8-relu_tiny-cityscapes/seed5',
        'finetune/retinanet_r18-metaacon_fpn_tiny-coco/seed0',
        'finetune/retinanet_r18-relu_fpn_tiny-coco/seed0',
        'finetune/retinanet_r18-metaacon_fpn_tiny-coco/seed5',
        'finetune/retinanet_r18-relu_fpn_tiny-coco/seed5']
    cmd = out.splitlines()[out.splitlines().index(f'# {names[7]}') + 1]
    assert cmd.startswith(f'{benchmark.sys.executable} {osp.join(REPO, "tools", "train.py")} '
                          f'{RELU_DET} --work-dir {tmp_path}/finetune/')
    assert cmd.endswith('--cfg-options train_cfg.max_iters=7 '
                        'model.backbone.init_cfg._delete_=True '
                        'model.backbone.init_cfg.type=Pretrained '
                        'model.backbone.init_cfg.checkpoint=<checkpoint of '
                        'pretrain/pspnet_r18-d8-relu_tiny-cityscapes/seed5> '
                        'model.backbone.init_cfg.prefix=backbone. randomness.seed=5')


def test_spec_file_and_slurm(capsys, tmp_path):
    spec = tmp_path / 'spec.py'
    spec.write_text(f'seeds = [1]\nconfigs = [{RELU_DET!r}]\n'
                    "cfg_options = {'train_cfg.max_iters': 3}\n")
    assert benchmark.main(['--spec', str(spec), '--seeds', '2', '--dry-run', '--launcher',
                           'slurm', '--partition', 'p', '--gpus', '8']) == 0
    out = capsys.readouterr().out
    assert '# train/retinanet_r18-relu_fpn_tiny-coco/seed2' in out
    assert ' p retinanet_r18-relu_fpn_tiny-coco-s2 ' in out
    assert out.rstrip().endswith('train_cfg.max_iters=3 randomness.seed=2')


def test_slurm_resources_and_ports(capsys, monkeypatch):
    for key in ('GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS'):
        monkeypatch.delenv(key, raising=False)
    assert benchmark.main([RELU_DET, DET_CONFIG, '--seeds', '0', '1', '--dry-run',
                           '--launcher', 'slurm', '--partition', 'cpu', '--gpus', '2',
                           '--gpus-per-node', '0', '--cpus-per-task', '1', '--jobs', '2']) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith('#')]
    # every run its own MASTER_PORT; GPUS_PER_NODE=0: slurm_train.sh asks for no --gres
    for i, line in enumerate(lines, 1):
        assert line.startswith(f'GPUS=2 GPUS_PER_NODE=0 CPUS_PER_TASK=1 MASTER_PORT={29500 + i} '
                               f'bash {osp.join(REPO, "tools", "slurm_train.sh")} cpu ')
    assert len(lines) == 4
    # defaults: the environment's, else min(--gpus, 8) and the script's own CPUS_PER_TASK
    monkeypatch.setenv('CPUS_PER_TASK', '2')
    benchmark.main([RELU_DET, '--dry-run', '--launcher', 'slurm', '--partition', 'p',
                    '--gpus', '16'])
    assert 'GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=2 MASTER_PORT=29501 bash ' in \
        capsys.readouterr().out
    with pytest.raises(SystemExit, match='--cpus-per-task 0: expected a number >= 1'):
        benchmark.main([RELU_DET, '--dry-run', '--cpus-per-task', '0'])
    with pytest.raises(SystemExit, match='--gpus-per-node -1: expected a number >= 0'):
        benchmark.main([RELU_DET, '--dry-run', '--gpus-per-node', '-1'])


def test_help_names_the_slurm_settings(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert '--gpus-per-node N slurm: GPUs and tasks per node (GPUS_PER_NODE); 0: a CPU-only ' \
        'job, asked without --gres' in text
    assert '--cpus-per-task N slurm: CPUs per task (CPUS_PER_TASK). Default: $CPUS_PER_TASK, ' \
        'else 5.' in text
    assert 'each gets its own port (PORT of dist_train.sh, MASTER_PORT of slurm_train.sh' in text


def test_usage_errors():
    with pytest.raises(SystemExit, match='nothing to benchmark'):
        benchmark.main([])
    with pytest.raises(SystemExit, match="'oops': expected KEY=VALUE"):
        benchmark.main([RELU_DET, '--dry-run', '--cfg-options', 'oops'])


@pytest.mark.slow
def test_failed_stage_one_is_reported_and_stage_two_not_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    missing = str(tmp_path / 'no_data')
    rc = benchmark.main([RELU_DET, '--pretrain', RELU_SEG, '--work-dir', str(tmp_path / 'w'),
                         '--quiet', '--no-plot', '--cfg-options',
                         f'train_dataloader.dataset.data_root={missing}'])
    assert rc == 1
    records = json.load(open(tmp_path / 'w' / 'results.json'))['records']
    assert [(r['stage'], r['status']) for r in records] == [
        ('pretrain', 'failed'), ('finetune', 'not run')]
    assert records[0]['returncode'] not in (0, None)
    assert records[1]['note'] == 'pretrain/pspnet_r18-d8-relu_tiny-cityscapes/seed0 did not finish'
    err = capsys.readouterr()
    assert 'FAILED pretrain/pspnet_r18-d8-relu_tiny-cityscapes/seed0' in err.out
    assert 'not finished' in err.err
    log = open(tmp_path / 'w' / 'pretrain' / 'pspnet_r18-d8-relu_tiny-cityscapes' / 'seed0'
               / 'train.log').read()
    assert missing in log  # train.py named the missing data root
