"""mmacon/ops/cpp_loader.py: the C++ sources beside their loader, the cache key, the switch."""
import os

import pytest

from mmacon.ops import cpp_loader


def test_library_cached_by_source(tmp_path, monkeypatch):
    cxx = cpp_loader._compiler() or 'c++'
    a = cpp_loader.library_path(cxx, b'int f() { return 1; }')
    b = cpp_loader.library_path(cxx, b'int f() { return 2; }')
    assert a != b and os.path.dirname(a) == cpp_loader.cache_dir()
    monkeypatch.setenv('MMACON_CACHE_DIR', str(tmp_path))
    assert cpp_loader.cache_dir() == str(tmp_path)
    assert os.path.dirname(cpp_loader.library_path(cxx, b'')) == str(tmp_path)


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv('MMACON_DISABLE_CPU_KERNEL', '1')
    assert cpp_loader._load() == 'disabled by MMACON_DISABLE_CPU_KERNEL'


def test_no_compiler_is_a_reason_naming_the_fix(monkeypatch):
    monkeypatch.setattr(cpp_loader, '_compiler', lambda: None)
    assert cpp_loader._load() == 'no C++ compiler found (set CXX, or install g++)'


def test_the_sources_sit_next_to_their_loader():
    """The kernels' C++ are files of the package (a wheel ships them: tests/test_setup.py)."""
    assert cpp_loader.SOURCE in cpp_loader.SOURCES and len(cpp_loader.SOURCES) == 2
    for source in cpp_loader.SOURCES + cpp_loader.HEADERS:
        assert os.path.isfile(source) and source.endswith(('.cpp', '.h'))
        assert os.path.dirname(source) == os.path.dirname(cpp_loader.__file__)
    here = os.path.dirname(cpp_loader.__file__)
    included = {name for name in os.listdir(here) if name.endswith('.h')}
    assert included == {os.path.basename(h) for h in cpp_loader.HEADERS}  # all in the key


def test_every_symbol_is_declared_for_every_storage_type():
    if cpp_loader.available() is not None:
        pytest.skip(f'no C++ kernels here: {cpp_loader.available()}')
    lib = cpp_loader.library()
    for suffix in ('f32', 'f64', 'bf16', 'f16'):
        for name in ('acon_c_fwd', 'acon_c_bwd', 'meta_acon_fwd', 'meta_acon_bwd'):
            assert getattr(lib, f'{name}_{suffix}').argtypes, (name, suffix)
