"""A run's command line and environment for each launcher."""
import os.path as osp
import sys

import pytest

from mmacon.sweep.launch import launcher_env, tools_dir, train_command, train_env
from tests.test_tools.tool_helpers import REPO, TOOLS


def test_tools_dir_is_the_repository_tools():
    assert tools_dir() == TOOLS


def test_commands_per_launcher():
    opts = ['randomness.seed=1']
    assert train_command('c.py', '/w', opts) == [
        sys.executable, osp.join(TOOLS, 'train.py'), 'c.py', '--work-dir', '/w',
        '--cfg-options', 'randomness.seed=1']
    assert train_command('c.py', '/w', opts, resume=True, launcher='pytorch', gpus=4) == [
        'bash', osp.join(TOOLS, 'dist_train.sh'), 'c.py', '4', '--work-dir', '/w',
        '--resume', '--cfg-options', 'randomness.seed=1']
    assert train_command('c.py', '/w', [], launcher='slurm', partition='gpu', job_name='j') == [
        'bash', osp.join(TOOLS, 'slurm_train.sh'), 'gpu', 'j', 'c.py', '/w']
    with pytest.raises(ValueError, match='--partition'):
        train_command('c.py', '/w', [], launcher='slurm')
    with pytest.raises(ValueError, match="'mpi' is not one of"):
        train_command('c.py', '/w', [], launcher='mpi')


def test_env(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    env = train_env('pytorch', threads=3, port=29611)
    assert env['OMP_NUM_THREADS'] == '3' and env['PORT'] == '29611'
    assert env['PYTHON'] == sys.executable and env['PYTHONPATH'].split(':')[0] == REPO
    monkeypatch.setenv('OMP_NUM_THREADS', '7')  # the user's setting wins
    env = train_env('slurm', threads=3, gpus=16)
    assert env['OMP_NUM_THREADS'] == '7' and env['GPUS'] == '16' and env['GPUS_PER_NODE'] == '8'


def test_slurm_env(monkeypatch):
    for key in ('GPUS_PER_NODE', 'CPUS_PER_TASK', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    # every run its own MASTER_PORT (mmengine's slurm launcher): parallel runs on one node
    env = train_env('slurm', threads=None, gpus=2, port=29503)
    assert (env['GPUS'], env['GPUS_PER_NODE'], env['MASTER_PORT']) == ('2', '2', '29503')
    assert 'CPUS_PER_TASK' not in env  # slurm_train.sh's default
    assert 'PORT' not in env and 'MASTER_PORT' not in train_env('pytorch', None, port=1)
    # a CPU-only job (no --gres) and the CPUs of a task, as given
    env = train_env('slurm', threads=None, gpus=4, gpus_per_node=0, cpus_per_task=2)
    assert (env['GPUS'], env['GPUS_PER_NODE'], env['CPUS_PER_TASK']) == ('4', '0', '2')
    # not given: the user's environment, then the defaults
    monkeypatch.setenv('GPUS_PER_NODE', '0')
    monkeypatch.setenv('CPUS_PER_TASK', '3')
    env = train_env('slurm', threads=None, gpus=4)
    assert (env['GPUS_PER_NODE'], env['CPUS_PER_TASK']) == ('0', '3')
    assert train_env('slurm', None, gpus=4, gpus_per_node=4)['GPUS_PER_NODE'] == '4'
    monkeypatch.setenv('SRUN_ARGS', '--time=5')
    assert launcher_env(train_env('slurm', None, gpus=4, port=29600), 'slurm') == dict(
        GPUS='4', GPUS_PER_NODE='0', CPUS_PER_TASK='3', MASTER_PORT='29600', SRUN_ARGS='--time=5')
    assert launcher_env(train_env('pytorch', 2, port=29601), 'pytorch') == dict(PORT='29601')
    assert launcher_env(train_env('none', 2), 'none') == {}
