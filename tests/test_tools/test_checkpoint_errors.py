"""Every tool refuses an empty file, a text file, a truncated download and a pickle that
would run ``os.system`` with ONE error line naming the file and the fault, and never
advises an unsafe load (issue 11 §6). In process: the checks run before any model or
Runner is built, and nothing in the bad files is ever executed."""
import os.path as osp
import pickle
import subprocess

import pytest
import torch

from tests.test_tools.tool_helpers import SEG_CONFIG, load_tool

TINY_META = "dict(type='AconResNet', depth=18, base_channels=8, act_cfg=dict(type='MetaAconC'))"


class _RunsSystem:
    """Pickles as ``os.system(<touch marker>)``: must never run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}', )


def _write(kind, path, marker):
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'text':
        path.write_text('<html>404 Not Found</html>\n')
    elif kind == 'truncated':
        torch.save({'state_dict': {'w': torch.ones(64)}}, path)
        path.write_bytes(path.read_bytes()[:300])
    elif kind == 'system-pickle':  # a plain pickle, as torch.load's legacy path reads it
        with open(path, 'wb') as f:
            pickle.dump({'state_dict': {}, 'x': _RunsSystem(marker)}, f, protocol=2)
    elif kind == 'system-zip':  # a torch.save file carrying the same payload
        torch.save({'state_dict': {'w': torch.ones(1)}, 'x': _RunsSystem(marker)}, path)


# what the one error line must say, per kind of bad file
FAULT = {
    'empty': 'is empty (0 bytes)',
    'text': "is not a PyTorch checkpoint: neither a torch.save zip archive nor a pickle "
            "(it starts with b'<html>",
    'truncated': 'is a truncated or corrupt zip archive',
    'system-pickle': 'pickles posix.system',
    'system-zip': 'pickles posix.system',
}


def _argv(tool, ckpt, tmp_path):
    out = str(tmp_path / 'out')
    if tool == 'acon2mmacon':
        return [ckpt, str(tmp_path / 'dst.pth')]
    if tool == 'plot_activation':
        return [ckpt, '--out-dir', out]
    if tool == 'beta_distribution':
        return ['--backbone-cfg', TINY_META, ckpt, '--out-dir', out]
    if tool == 'pytorch2onnx':
        return ['--backbone-cfg', TINY_META, '--checkpoint', ckpt,
                '--output', str(tmp_path / 'x.onnx')]
    if tool == 'train load_from':
        return [SEG_CONFIG, '--work-dir', out, '--cfg-options', f'load_from={ckpt}']
    if tool == 'train --resume':
        return [SEG_CONFIG, '--work-dir', out, '--resume', ckpt]
    if tool == 'train init_cfg':
        config = tmp_path / 'pretrained.py'
        config.write_text(f'_base_ = {SEG_CONFIG!r}\nmodel = dict(backbone=dict(init_cfg='
                          f"dict(_delete_=True, type='Pretrained', checkpoint={ckpt!r})))\n")
        return [str(config), '--work-dir', out]
    if tool == 'test':
        return [SEG_CONFIG, ckpt, '--work-dir', out]
    raise AssertionError(tool)


SCRIPTS = {
    'acon2mmacon': 'tools/model_converters/acon2mmacon.py',
    'plot_activation': 'tools/analysis/plot_activation.py',
    'beta_distribution': 'tools/analysis/beta_distribution.py',
    'pytorch2onnx': 'tools/deployment/pytorch2onnx.py',
    'train load_from': 'tools/train.py', 'train --resume': 'tools/train.py',
    'train init_cfg': 'tools/train.py', 'test': 'tools/test.py',
}
_loaded = {}


def _tool(script):
    if script not in _loaded:
        _loaded[script] = load_tool(script)
    return _loaded[script]


@pytest.mark.parametrize('kind', list(FAULT))
@pytest.mark.parametrize('tool', list(SCRIPTS))
def test_bad_checkpoint_one_clear_error(tool, kind, tmp_path, capsys):
    ckpt = tmp_path / f'bad-{kind}.pth'
    marker = tmp_path / 'payload_ran'
    _write(kind, ckpt, marker)
    assert _tool(SCRIPTS[tool]).main(_argv(tool, str(ckpt), tmp_path)) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    # one message: the file, what is wrong, and no unsafe advice
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    assert str(ckpt) in lines[0] and FAULT[kind] in lines[0], lines[0]
    assert 'weights_only=False' not in err and 'Traceback' not in err
    assert not marker.exists()


def test_train_checks_the_auto_resume_checkpoint(tmp_path, capsys):
    """``--resume`` without a path resumes from work_dir/last_checkpoint: checked too."""
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'iter_4.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'iter_4.pth'))
    assert _tool('tools/train.py').main([SEG_CONFIG, '--work-dir', str(work), '--resume']) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: resume checkpoint (from ') and 'last_checkpoint)' in err
    assert f'{work / "iter_4.pth"} is empty (0 bytes)' in err


def test_script_exit_status_and_message(tmp_path):
    """As a script (python tools/test.py): exit status 1, the one line, no traceback."""
    from tests.test_tools.tool_helpers import REPO, python, tool_env
    ckpt = tmp_path / 'empty.pth'
    ckpt.write_bytes(b'')
    proc = subprocess.run([python(), osp.join(REPO, 'tools', 'test.py'), SEG_CONFIG,
                           str(ckpt)], capture_output=True, text=True, env=tool_env(),
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint {ckpt} is empty (0 bytes): an interrupted download or copy? '
        'Download or convert it again')
    assert 'Traceback' not in proc.stderr
