"""mmacon.models.backbones._arg_checks: ArgumentError is what upstream raises (an
AssertionError) and what the value is (a ValueError); messages name the value."""
import pytest

from mmacon.models.backbones._arg_checks import (ArgumentError, check_choice,
                                                 check_frozen_stages, check_out_indices)


def test_argument_error_is_both():
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, AssertionError)


def test_check_choice():
    check_choice('Net', 'style', 'caffe', ('pytorch', 'caffe'))
    with pytest.raises(ArgumentError,
                       match=r"Net: style must be one of \('pytorch', 'caffe'\), got 'tf'"):
        check_choice('Net', 'style', 'tf', ('pytorch', 'caffe'))


def test_check_out_indices():
    assert check_out_indices('Net', (0, -1), 4) == (0, 3)
    assert check_out_indices('Net', 2, 4) == (2, )
    for bad in [(4, ), (-5, ), (True, ), (1.0, )]:
        with pytest.raises(ArgumentError, match=r'Net: out_indices .* valid indices are 0\.\.3'):
            check_out_indices('Net', bad, 4)
    with pytest.raises(ArgumentError, match='must not be empty'):
        check_out_indices('Net', (), 4)


def test_check_frozen_stages():
    assert [check_frozen_stages('Net', k, 3) for k in (-1, 0, 3)] == [-1, 0, 3]
    for bad in (-2, 4, True, 1.0):
        needle = rf'Net: frozen_stages must be in -1\.\.3, got {bad!r}'
        with pytest.raises(ArgumentError, match=needle):
            check_frozen_stages('Net', bad, 3)
