"""Run the ACON-C activation tests on every implementation of ``acon_c``.

``acon_impl`` (autouse) sets the thread's default implementation, which every
``AconC``/``AconB``/``MetaAconC`` built with the default ``impl='auto'`` follows.
The lead's behaviour tests (``test_acon.py``, ``test_meta_acon.py``) run once per
impl in ``TEST_IMPLS``, ``'compiled'`` (torch.compile) included. The tests marked
``compile`` in ``test_fused.py`` check its fallbacks and dynamic shapes.
"""
import os

import pytest

from mmacon.models.activations import default_impl

# 'auto' resolves to the fused CPU kernel ('cpp') on CPU; 'compiled' is torch.compile's
# (about a minute of compiling on 2 cores). MMACON_TEST_IMPLS (comma-separated) narrows
# the list, e.g. MMACON_TEST_IMPLS=auto for a quick run.
TEST_IMPLS = tuple(os.environ.get('MMACON_TEST_IMPLS',
                                  'auto,eager,reference,compiled').split(','))
_PARAMETRISED_MODULES = {'test_acon', 'test_meta_acon'}


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'compile: runs torch.compile (budgeted: tens of seconds on 2 cores)')
    config.addinivalue_line(
        'markers', "one_impl: run once with the default impl ('auto'), not once per impl")


def pytest_generate_tests(metafunc):
    name = metafunc.module.__name__.rsplit('.', 1)[-1]
    one_impl = metafunc.definition.get_closest_marker('one_impl') is not None
    if 'acon_impl' in metafunc.fixturenames and name in _PARAMETRISED_MODULES and not one_impl:
        metafunc.parametrize('acon_impl', TEST_IMPLS, indirect=True)


@pytest.fixture(autouse=True)
def acon_impl(request):
    impl = getattr(request, 'param', 'auto')
    with default_impl(impl):
        yield impl
