"""setup.py ships configs/, tools/ and model-index.yml in the package as mmacon/.mim/
(OpenMMLab's layout): a wheel holds them, editable installs link them, and the configs
work from there."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _setup_module():
    spec = importlib.util.spec_from_file_location('mmacon_setup', osp.join(REPO, 'setup.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # __main__ guard: nothing runs
    return module


def _tracked_copy(dst):
    """The repository's tracked and untracked-but-not-ignored files, copied to ``dst``."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO,
                           check=True, capture_output=True, text=True).stdout.split('\n')
    for rel in filter(None, files):
        src = osp.join(REPO, rel)
        if osp.isfile(src):
            os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
            with open(src, 'rb') as fin, open(osp.join(dst, rel), 'wb') as fout:
                fout.write(fin.read())
    return dst


@pytest.mark.parametrize('argv,mode', [
    (['setup.py', 'editable_wheel'], 'symlink'), (['setup.py', 'develop'], 'symlink'),
    (['setup.py', 'bdist_wheel'], 'copy'), (['setup.py', 'sdist'], 'copy'),
    (['setup.py', 'egg_info'], None), (['setup.py', 'dist_info'], None)])
def test_mode_follows_the_setuptools_command(argv, mode):
    assert _setup_module().mim_mode(argv) == mode


def test_symlink_mode_links_the_sources(tmp_path):
    root = _tracked_copy(str(tmp_path / 'src'))
    setup = _setup_module()
    for _ in range(2):  # idempotent: a second install replaces the links
        setup.add_mim_extension('symlink', root=root)
    for name in setup.MIM_FILES:
        link = osp.join(root, 'mmacon', '.mim', name)
        assert osp.islink(link) and not osp.isabs(os.readlink(link))
        assert osp.realpath(link) == osp.realpath(osp.join(root, name))


@pytest.mark.slow
def test_wheel_ships_configs_tools_and_model_index(tmp_path):
    """A wheel built from a clean copy holds every config and tool under mmacon/.mim/, and
    mmengine's package lookup reads the metafiles from there."""
    root = _tracked_copy(str(tmp_path / 'src'))
    out = tmp_path / 'wheel'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', '--no-index', '-w', str(out), root],
                   check=True, capture_output=True, text=True, timeout=300)
    wheel, = out.glob('mmacon-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {'mmacon/.mim/model-index.yml'}
    for top in ('configs', 'tools'):
        for dirpath, _, files in os.walk(osp.join(REPO, top)):
            for f in files:
                if f.endswith(('.py', '.sh', '.yml', '.md')):
                    rel = osp.relpath(osp.join(dirpath, f), REPO)
                    expected.add(f'mmacon/.mim/{rel}')
    assert expected <= names, sorted(expected - names)[:10]
    # the CPU kernel's C++ source, compiled on first use next to its loader
    assert {'mmacon/ops/acon_c_cpu.cpp', 'mmacon/ops/meta_acon_cpu.cpp',
            'mmacon/ops/flush_denormals.h', 'mmacon/ops/split_rows.h',
            'mmacon/ops/half_types.h', 'mmacon/ops/cpp_loader.py'} <= names
    assert not [n for n in names if '__pycache__' in n]

    # installed layout: mmengine finds each config through .mim/model-index.yml
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)
    from mmengine.config.utils import _get_cfg_metainfo
    meta = _get_cfg_metainfo(str(site / 'mmacon'),
                             'imagenet/resnet50-metaacon_8xb32-linear-600k_in1k.py')
    assert meta['Config'] == 'configs/imagenet/resnet50-metaacon_8xb32-linear-600k_in1k.py'
    from mmengine.config import Config
    cfg = Config.fromfile(str(site / 'mmacon' / '.mim' / meta['Config']))
    assert cfg.model.backbone.act_cfg.type == 'MetaAconC'
