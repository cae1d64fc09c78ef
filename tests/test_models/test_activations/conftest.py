"""The ``acon_impl`` fixture: run a test once per ACON-C implementation.

A test (or a module, with ``pytestmark = pytest.mark.usefixtures('acon_impl')``) that
requests ``acon_impl`` runs once per impl in ``TEST_IMPLS``, with that impl as the
thread's default, which every ``AconC``/``AconB``/``MetaAconC`` built with the default
``impl='auto'`` follows. Tests that do not request it run with ``'auto'``.
"""
import os

import pytest

from mmacon.ops import default_impl

# 'auto' resolves to the fused CPU kernel ('cpp') on CPU. MMACON_TEST_IMPLS
# (comma-separated) narrows the list, e.g. MMACON_TEST_IMPLS=auto for a quick run.
TEST_IMPLS = tuple(os.environ.get('MMACON_TEST_IMPLS', 'auto,eager,reference').split(','))


def pytest_generate_tests(metafunc):
    """Requesters of ``acon_impl`` run once per impl; once (``'auto'``) if marked one_impl."""
    if 'acon_impl' in metafunc.fixturenames:
        one_impl = metafunc.definition.get_closest_marker('one_impl') is not None
        metafunc.parametrize('acon_impl', ('auto', ) if one_impl else TEST_IMPLS, indirect=True)


@pytest.fixture
def acon_impl(request):
    with default_impl(request.param):
        yield request.param
