"""mmacon/ops/backends.py: one table of backends, each with its devices, dtypes and refusals."""
import inspect

import pytest
import torch

from mmacon.ops import IMPLS
from mmacon.ops.backends import ACON_C, AUTO, BACKENDS, META_ACON_FUSED, TABLES, Backend
from mmacon.ops.reference import acon_c_reference


def test_the_tables_and_the_impl_names_derive_from_them():
    assert list(ACON_C) == ['reference', 'eager', 'cpp', 'triton']
    assert IMPLS == ('auto', 'reference', 'eager', 'cpp', 'triton')
    assert BACKENDS is ACON_C
    assert TABLES == {'acon_c': ACON_C, 'meta_acon_fused': META_ACON_FUSED}
    assert list(META_ACON_FUSED) == ['cpp', 'triton']
    for kind, table in TABLES.items():
        assert set(AUTO[kind]) >= {'cpu', 'cuda', '*'}
        for device, order in AUTO[kind].items():
            # every name in a priority list is an entry (the CUDA fused one may be missing)
            assert all(n in table or (kind, n) == ('meta_acon_fused', 'triton') for n in order)
    assert AUTO['acon_c']['cpu'] == ('cpp', 'eager')
    assert AUTO['acon_c']['cuda'] == ('triton', 'eager')


def test_every_acon_c_backend_has_the_protocol():
    for name, backend in ACON_C.items():
        assert isinstance(backend, Backend) and backend.name == name
        assert callable(backend.forward), name
        if name != 'reference':
            assert list(inspect.signature(backend.backward).parameters)[:5] == [
                'grad', 'x', 'p1', 'p2', 'beta'] or name == 'triton'
        why = backend.available()
        assert why is None or isinstance(why, str), name
    assert ACON_C['eager'].available() is None
    assert ACON_C['reference'].available() is None


def test_refuse_names_device_dtype_and_the_backends_own_reason():
    x = torch.randn(2, 3, 4, 4)
    p = torch.randn(1, 3, 1, 1)
    ints = torch.arange(6).view(1, 6, 1, 1)
    assert ACON_C['reference'].refuse(ints, ints, ints, ints) is None  # any dtype
    assert ACON_C['eager'].refuse(ints, ints, ints, ints) == (
        "x is torch.int64; 'eager' takes float16, bfloat16, float32, float64")
    assert ACON_C['cpp'].refuse(x.to('meta'), p, p, p) == "x is on meta; 'cpp' runs on cpu"
    if ACON_C['cpp'].available() is None:
        assert ACON_C['cpp'].refuse(x, p, p, p) is None
        assert ACON_C['cpp'].refuse(x.transpose(2, 3), p, p, p) == (
            'x is neither contiguous nor channels_last')


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_reference_entry_is_the_formula_in_x_dtype(dtype):
    x = torch.randn(2, 3, 4, 4).to(dtype)
    p1, p2, beta = (torch.randn(1, 3, 1, 1) for _ in range(3))
    y = ACON_C['reference'].forward(x, p1, p2, beta)
    assert y.dtype == dtype
    expected = acon_c_reference(x, p1, p2, beta)  # promoted to float32 for a bf16 x
    assert expected.dtype == torch.float32
    assert torch.equal(y, expected.to(dtype))
