"""Build step of the package: ship ``configs/``, ``tools/`` and ``model-index.yml`` inside
it as ``mmacon/.mim/``, the layout OpenMMLab packages use (mmdet, mmseg, mmpretrain), so
the configs and tools are there after ``pip install``.

Everything else lives in ``pyproject.toml``. Editable installs (``pip install -e .``)
link ``mmacon/.mim/*`` to the sources, so edits show up; other builds copy them.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')
EDITABLE_COMMANDS = ('develop', 'editable_wheel')
BUILD_COMMANDS = ('build', 'build_py', 'bdist_wheel', 'sdist', 'install')


def mim_mode(argv):
    """'symlink' for editable installs, 'copy' for builds, None otherwise (egg_info...)."""
    if any(cmd in argv for cmd in EDITABLE_COMMANDS):
        return 'symlink'
    if any(cmd in argv for cmd in BUILD_COMMANDS):
        return 'copy'
    return None


def add_mim_extension(mode, root=HERE):
    """Place ``MIM_FILES`` under ``root/mmacon/.mim`` by ``mode`` ('symlink' or 'copy')."""
    if mode is None:
        return
    mim = osp.join(root, 'mmacon', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(root, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension(mim_mode(sys.argv))
    setup()
