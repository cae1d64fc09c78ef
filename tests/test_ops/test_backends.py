"""mmacon/ops/backends.py: every backend offers the same four functions."""
import inspect

from mmacon.ops.backends import BACKENDS


def test_every_backend_has_the_protocol():
    assert set(BACKENDS) == {'eager', 'cpp', 'compiled', 'triton'}
    for name, backend in BACKENDS.items():
        for fn in ('available', 'supports', 'forward', 'backward'):
            assert callable(getattr(backend, fn)), (name, fn)
        why = backend.available()
        assert why is None or isinstance(why, str), name
    assert BACKENDS['eager'].available() is None
    assert list(inspect.signature(BACKENDS['cpp'].backward).parameters)[:5] == [
        'grad', 'x', 'p1', 'p2', 'beta']
