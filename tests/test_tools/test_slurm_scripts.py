"""tools/slurm_train.sh, slurm_test.sh and the resources they share (slurm_resources.sh).

The srun command line is checked everywhere, with ``srun`` / ``sinfo`` stand-ins that print
what they were given; the real thing (2 tasks training and testing on CPU over gloo, and
``tools/benchmark.py --launcher slurm --jobs 2``) runs where a Slurm controller answers, e.g.
``/work/shared/slurm/local_cluster.sh``, and is skipped elsewhere.
"""
import functools
import json
import os
import os.path as osp
import shutil
import stat
import subprocess

import pytest

from tests.test_tools.tool_helpers import REPO, SEG_CONFIG, TOOLS, python, run, seg_options

SCRIPTS = {'train': 'slurm_train.sh', 'test': 'slurm_test.sh'}


def stub(folder, name, body):
    path = folder / name
    path.write_text('#!/usr/bin/env bash\n' + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake_slurm(tmp_path):
    """A PATH whose ``srun`` prints its argv and MASTER_PORT, and whose ``sinfo`` says the
    partition has nodes of ``$FAKE_NODE_CPUS`` CPUs (one line each; none: sinfo fails)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    stub(bin_dir, 'srun', 'echo "SRUN $*"\necho "MASTER_PORT=$MASTER_PORT"\n')
    stub(bin_dir, 'sinfo', '[ -n "$FAKE_NODE_CPUS" ] || exit 1\n'
         'for c in $FAKE_NODE_CPUS; do echo $c; done\n')

    def call(which='train', node_cpus='', **env):
        args = (['p', 'job', 'c.py', '/w', '--cfg-options', 'a=1'] if which == 'train'
                else ['p', 'job', 'c.py', 'ckpt.pth', '--out', 'o.pkl'])
        full = {k: v for k, v in os.environ.items()
                if k not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS',
                             'MASTER_PORT')}
        full.update(PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON='py',
                    FAKE_NODE_CPUS=node_cpus, **env)
        proc = subprocess.run(['bash', osp.join(TOOLS, SCRIPTS[which])] + args, env=full,
                              capture_output=True, text=True, timeout=30)
        srun = [line[5:].split() for line in proc.stdout.splitlines() if line.startswith('SRUN')]
        return proc, srun[0] if srun else None
    return call


def test_upstream_defaults_ask_for_gpus(fake_slurm):
    proc, argv = fake_slurm()
    assert proc.returncode == 0, proc.stderr
    assert argv == ['-p', 'p', '--job-name=job', '--gres=gpu:8', '--ntasks=8',
                    '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1', 'py',
                    '-u', osp.join(TOOLS, 'train.py'), 'c.py', '--work-dir=/w',
                    '--launcher=slurm', '--cfg-options', 'a=1']
    assert 'MASTER_PORT=\n' in proc.stdout  # unset: mmengine's default 29500


def test_cpu_only_job_asks_for_no_gres(fake_slurm):
    for which in SCRIPTS:
        proc, argv = fake_slurm(which, GPUS='3', GPUS_PER_NODE='0', CPUS_PER_TASK='2',
                                SRUN_ARGS='--time=5', MASTER_PORT='29777')
        assert proc.returncode == 0, proc.stderr
        assert argv[:6] == ['-p', 'p', '--job-name=job', '--ntasks=3', '--cpus-per-task=2',
                            '--kill-on-bad-exit=1']
        assert argv[6:8] == ['--time=5', 'py'] and not any('gres' in a for a in argv)
        assert 'MASTER_PORT=29777' in proc.stdout  # srun passes the environment on
    assert argv[8:] == ['-u', osp.join(TOOLS, 'test.py'), 'c.py', 'ckpt.pth', '--launcher=slurm',
                        '--out', 'o.pkl']


def test_cpus_per_task_that_fit_no_node_are_refused(fake_slurm):
    # 2 tasks of 5 CPUs per node on nodes of 2 and 4 CPUs: Slurm would keep the job pending
    proc, argv = fake_slurm(node_cpus='2 4', GPUS='2', GPUS_PER_NODE='2')
    assert proc.returncode == 1 and argv is None
    assert ('slurm_train.sh: CPUS_PER_TASK=5 x 2 task(s) per node, but the nodes of partition '
            'p have at most 4 CPUs: set CPUS_PER_TASK to at most 2 or lower GPUS_PER_NODE '
            '(Slurm would keep the job pending for ever)') in proc.stderr
    # fewer tasks than GPUS_PER_NODE: --ntasks wins, 1 task of 4 CPUs fits
    proc, argv = fake_slurm(node_cpus='2 4', GPUS='1', GPUS_PER_NODE='8', CPUS_PER_TASK='4')
    assert proc.returncode == 0 and '--cpus-per-task=4' in argv
    # CPU-only: 3 tasks of 2 CPUs need 6 CPUs, the partition has 2 + 3
    proc, argv = fake_slurm('test', node_cpus='2 3', GPUS='3', GPUS_PER_NODE='0',
                            CPUS_PER_TASK='2')
    assert proc.returncode == 1 and argv is None
    assert ('slurm_test.sh: GPUS=3 tasks x CPUS_PER_TASK=2 CPUs, but partition p has 5 CPUs '
            'in all: lower GPUS or CPUS_PER_TASK') in proc.stderr
    proc, argv = fake_slurm('test', node_cpus='2 3', GPUS='2', GPUS_PER_NODE='0',
                            CPUS_PER_TASK='2')
    assert proc.returncode == 0 and argv[3:5] == ['--ntasks=2', '--cpus-per-task=2']
    # --overcommit allocates one task's CPUs per node: Slurm decides
    proc, argv = fake_slurm(node_cpus='2', GPUS='2', GPUS_PER_NODE='2', SRUN_ARGS='--overcommit')
    assert proc.returncode == 0 and '--overcommit' in argv
    # sinfo cannot tell (no Slurm client, another cluster's syntax): no check
    proc, argv = fake_slurm(GPUS='64')
    assert proc.returncode == 0 and '--ntasks=64' in argv


def test_a_setting_that_is_no_number_is_named(fake_slurm):
    proc, argv = fake_slurm(GPUS_PER_NODE='two')
    assert proc.returncode == 1 and argv is None
    assert 'slurm_train.sh: GPUS_PER_NODE=two is not a number' in proc.stderr


# ------------------------------------------------------------------ on a real Slurm cluster
@functools.lru_cache()
def slurm_partition():
    """The default partition of a Slurm controller that answers, else None (sinfo takes
    9 s to give up on a controller that is down: asked once, for 5 s at most)."""
    if not (shutil.which('srun') and shutil.which('sinfo')):
        return None
    try:
        proc = subprocess.run(['sinfo', '-h', '-o', '%P'], capture_output=True, text=True,
                              timeout=5)  # a controller that answers does so at once
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = proc.stdout.split() if proc.returncode == 0 else []
    default = [n[:-1] for n in names if n.endswith('*')]
    return (default or names or [None])[0]


needs_slurm = pytest.mark.skipif(slurm_partition() is None,
                                 reason='no Slurm controller answers (srun / sinfo)')
# no --gres (GPUS_PER_NODE=0): runs on clusters with and without a "gpu" gres; 1 CPU a task
CPU_JOB = dict(GPUS='2', GPUS_PER_NODE='0', CPUS_PER_TASK='1', PYTHON=python())


@needs_slurm
@pytest.mark.slow
def test_two_tasks_train_and_test_on_slurm(tmp_path, tiny_cityscapes):
    partition = slurm_partition()
    work_dir = str(tmp_path / 'w')
    options = seg_options(tiny_cityscapes, iters=2) + ['randomness.seed=0']
    train = run(['bash', osp.join(TOOLS, 'slurm_train.sh'), partition, 'mmacon-test-train',
                 SEG_CONFIG, work_dir, '--cfg-options'] + options, timeout=600, **CPU_JOB)
    assert '--ntasks=2 --cpus-per-task=1' in train.stderr and '--gres' not in train.stderr
    (log, ) = [osp.join(work_dir, d, f'{d}.log') for d in os.listdir(work_dir)
               if osp.isfile(osp.join(work_dir, d, f'{d}.log'))]
    text = open(log).read()
    assert 'Distributed launcher: slurm' in text and 'Process number: 2' in text
    assert 'Iter(train) [2/2]' in text and '"processes": 2' in text
    test = run(['bash', osp.join(TOOLS, 'slurm_test.sh'), partition, 'mmacon-test-test',
                SEG_CONFIG, osp.join(work_dir, 'iter_2.pth'), '--work-dir',
                str(tmp_path / 't'), '--cfg-options'] + options, timeout=600, **CPU_JOB)
    assert 'Iter(test) [1/1]' in test.stdout + test.stderr and 'mIoU' in test.stdout


@needs_slurm
@pytest.mark.slow
def test_benchmark_two_slurm_runs_at_a_time(tmp_path, tiny_cityscapes):
    """Two 1-task runs at once on one node: each has its own MASTER_PORT (both used 29500,
    and the second died with EADDRINUSE); Slurm's CPU time is unknown, not 0."""
    work_dir = tmp_path / 'bench'
    configs = [SEG_CONFIG, SEG_CONFIG.replace('metaacon', 'relu')]
    options = seg_options(tiny_cityscapes, iters=2)
    run([python(), osp.join(TOOLS, 'benchmark.py')] + configs + [
        '--launcher', 'slurm', '--partition', slurm_partition(), '--jobs', '2', '--gpus', '1',
        '--gpus-per-node', '0', '--cpus-per-task', '1', '--work-dir', str(work_dir), '--quiet',
        '--no-plot', '--cfg-options'] + options, timeout=600, cwd=REPO)
    results = json.load(open(work_dir / 'results.json'))
    records = results['records']
    assert [r['status'] for r in records] == ['ok', 'ok']
    assert [r['cpu_s'] for r in records] == [None, None] and results['cpu_s'] is None
    assert results['wall_s'] > 0 and results['launcher'] == 'slurm'
    for r in records:
        assert 'EADDRINUSE' not in open(osp.join(r['work_dir'], 'train.log')).read()
        assert r['setup']['processes'] == 1
    # they ran at the same time: the sweep's wall time is less than the sum of the runs'
    (a0, a1), (b0, b1) = sorted((r['start_time'], r['end_time']) for r in records)
    assert b0 < a1 and results['wall_s'] == pytest.approx(max(a1, b1) - a0, abs=0.2)
