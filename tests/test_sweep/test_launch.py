"""A run's command line and environment for each launcher."""
import os.path as osp
import sys

import pytest

from mmacon.sweep.launch import tools_dir, train_command, train_env
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
