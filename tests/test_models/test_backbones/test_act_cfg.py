"""mmacon.models.backbones._act_cfg: which act_cfg replaces the plain activation."""
import pytest
from torch import nn

from mmacon.models.backbones._act_cfg import check_act_cfg


def test_plain_and_none_keep_the_backbone_activation():
    assert check_act_cfg('Net', None) is None
    assert check_act_cfg('Net', dict(type='ReLU')) is None
    assert check_act_cfg('Net', dict(type='ReLU6'), plain=('ReLU6', )) is None
    assert check_act_cfg('Net', dict(type='ReLU'), plain=('ReLU6', )) == dict(type='ReLU')


def test_returns_a_copy():
    cfg = dict(type='MetaAconC', reduction=8)
    out = check_act_cfg('Net', cfg)
    assert out == cfg and out is not cfg
    assert check_act_cfg('Net', dict(type=nn.SiLU)) == dict(type=nn.SiLU)


@pytest.mark.parametrize('cfg, error, needle', [
    ('MetaAconC', TypeError, "Net: act_cfg must be None or a dict.*'MetaAconC'"),
    (dict(reduction=8), TypeError, 'a "type" key'),
    (dict(type='NoSuchAcon'), KeyError, "Net: unknown activation type 'NoSuchAcon'"),
    (dict(type=3), TypeError, 'registered name or a class, got 3'),
])
def test_errors_name_the_value(cfg, error, needle):
    with pytest.raises(error, match=needle):
        check_act_cfg('Net', cfg)
