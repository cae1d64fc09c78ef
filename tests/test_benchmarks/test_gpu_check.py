"""benchmarks/gpu_check.py: one process per section, each saying what it could not run and
why; the kit installed with --no-index --no-deps --target; PYTHONPATH extended; results
copied to --out-dir. The CUDA figures themselves come from the GPU machine (make gpu-check)."""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile

import pytest
import torch

from benchmarks import gpu_check, report

without_cuda = pytest.mark.skipif(torch.cuda.is_available(),
                                  reason='with CUDA the real check runs (make gpu-check)')


def test_cuda_section_replaced_in_place(tmp_path):
    out = tmp_path / 'benchmarks.md'
    out.write_text(f'# head\n\n{report.CUDA_BEGIN}\nold\n{report.CUDA_END}\n\n## Reading\ntail\n')
    report.write_cuda_section(str(out), '## CUDA\n\nnew figures')
    assert out.read_text() == (f'# head\n\n{report.CUDA_BEGIN}\n## CUDA\n\nnew figures\n'
                               f'{report.CUDA_END}\n\n## Reading\ntail\n')
    assert report.cuda_section(str(out)) == (f'{report.CUDA_BEGIN}\n## CUDA\n\nnew figures\n'
                                             f'{report.CUDA_END}')
    assert 'No GPU check has been run yet' in report.cuda_section(str(tmp_path / 'none.md'))


def test_child_pythonpath_is_extended_not_replaced(monkeypatch):
    monkeypatch.setenv('PYTHONPATH', '/somewhere/else')
    env = gpu_check.child_env('/tmp/kit-site')
    assert env['PYTHONPATH'] == os.pathsep.join([report.ROOT, '/tmp/kit-site', '/somewhere/else'])
    monkeypatch.delenv('PYTHONPATH')
    assert gpu_check.child_env(None)['PYTHONPATH'] == report.ROOT


def _wheel(folder, name='mmacon_probe_pkg', version='0.1'):
    """A minimal pure-Python wheel, with a dependency that is nowhere to be found."""
    dist = f'{name}-{version}.dist-info'
    files = {f'{name}/__init__.py': 'VALUE = 42\n',
             f'{dist}/METADATA': (f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
                                  'Requires-Dist: opencv-python>=3\n'),
             f'{dist}/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n'
                              'Tag: py3-none-any\n'}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=')
        record.append(f'{path},sha256={digest.decode()},{len(text.encode())}')
    files[f'{dist}/RECORD'] = '\n'.join(record + [f'{dist}/RECORD,,']) + '\n'
    path = folder / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as z:
        for p, text in files.items():
            z.writestr(p, text)
    return path


def test_kit_installs_without_index_or_dependencies(tmp_path):
    kit = tmp_path / 'kit'
    kit.mkdir()
    _wheel(kit)
    log = gpu_check.Log(str(tmp_path / 'log'))
    site, note = gpu_check.install_kit(str(kit), log)
    assert site is not None, note
    # installed although its requirement (opencv-python) is nowhere: --no-deps, --no-index
    assert os.path.exists(os.path.join(site, 'mmacon_probe_pkg', '__init__.py'))
    assert note.startswith('1 wheels from ') and note.endswith(': mmacon_probe_pkg 0.1')
    assert '--no-index --no-deps --no-compile' in (tmp_path / 'log').read_text()
    probe = subprocess.run([sys.executable, '-c', 'import mmacon_probe_pkg as m; print(m.VALUE)'],
                           env=gpu_check.child_env(site), capture_output=True, text=True)
    assert probe.stdout.strip() == '42', probe.stderr


def test_without_the_kit_the_model_sections_say_how_to_make_it(tmp_path):
    out = tmp_path / 'out'
    rc = gpu_check.main(['--only', 'pspnet-step,torchrun', '--kit', str(tmp_path / 'none'),
                         '--out-dir', str(out), '--doc', str(tmp_path / 'benchmarks.md')])
    assert rc == 2
    summary = json.loads((out / 'gpu_check.json').read_text())
    assert [(s['name'], s['status']) for s in summary['sections']] == [
        ('pspnet-step', 'skipped'), ('torchrun', 'skipped')]
    assert all('make gpu-kit' in s['note'] for s in summary['sections'])
    assert sorted(os.listdir(out)) == ['benchmarks.md', 'gpu_check.json', 'gpu_check.log']


def test_a_section_over_its_limit_is_stopped_with_its_children(tmp_path):
    sec = gpu_check.Section('environment', 'Environment', gpu_check.NEVER, 1)
    args = gpu_check.argparse.Namespace(repeats=1, cpu_dry_run=False)
    t0 = time.time()
    result = gpu_check.run_section(sec, 0.5, None, args, gpu_check.Log(str(tmp_path / 'log')),
                                   str(tmp_path))
    assert time.time() - t0 < 30
    assert result['status'] == 'timeout'
    assert result['note'].startswith('stopped at its 0 s limit')


@without_cuda
def test_without_cuda_each_kernel_section_stops_there_and_says_so(tmp_path):
    out, doc = tmp_path / 'out', tmp_path / 'benchmarks.md'
    rc = gpu_check.main(['--only', 'environment,activation-tables', '--out-dir', str(out),
                         '--doc', str(doc), '--kit', str(tmp_path / 'no-kit')])
    assert rc == 2
    summary = json.loads((out / 'gpu_check.json').read_text())
    assert [(s['name'], s['status'], s['kit']) for s in summary['sections']] == [
        ('environment', 'no-cuda', False), ('activation-tables', 'no-cuda', False)]
    text = doc.read_text()
    assert text == (out / 'benchmarks.md').read_text()
    assert f'torch {torch.__version__}' in text
    assert '`import mmacon.ops` with torch alone: ok' in text
    assert text.count('CUDA not available (torch.cuda.is_available() is False).') == 2
    built = re.search(r'built its \d+ candidates \((.*)\); no table run', text).group(1)
    assert {'SiLU', 'AconC (triton)', 'MetaAconC (triton)'} <= set(built.split(', '))


@without_cuda
def test_a_rehearsal_writes_a_copy_never_the_repository_page(tmp_path, monkeypatch):
    doc = tmp_path / 'docs' / 'benchmarks.md'
    doc.parent.mkdir()
    doc.write_text(f'# head\n\n{report.CUDA_BEGIN}\nH200 figures\n{report.CUDA_END}\n')
    monkeypatch.setattr(gpu_check, 'DOC', str(doc))   # the default of --doc
    out = tmp_path / 'out'
    rc = gpu_check.main(['--only', 'environment', '--out-dir', str(out),
                         '--kit', str(tmp_path / 'no-kit')])
    assert rc == 2
    assert 'H200 figures' in doc.read_text()             # untouched
    copy = (out / 'benchmarks.md').read_text()
    assert 'H200 figures' not in copy and 'CUDA not available' in copy
    assert json.loads((out / 'gpu_check.json').read_text())['page'] == str(out / 'benchmarks.md')


BLOCKED = '''
import sys
for name in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain'):
    sys.modules[name] = None
from benchmarks.gpu_sections import main
sys.exit(main(['environment', '--json', sys.argv[1]]))
'''


@without_cuda
def test_kernel_sections_need_no_mmengine(tmp_path):
    path = tmp_path / 'env.json'
    proc = subprocess.run([sys.executable, '-c', BLOCKED, str(path)], cwd=report.ROOT,
                          env=gpu_check.child_env(None), capture_output=True, text=True,
                          timeout=300)
    verdict = json.loads(path.read_text())
    assert proc.returncode == 0 and verdict['status'] == 'no-cuda', proc.stdout + proc.stderr
    assert '`import mmacon.ops` with torch alone: ok' in verdict['markdown']
