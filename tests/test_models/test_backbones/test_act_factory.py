"""mmacon.models.backbones._act_factory: which act_cfg replaces the plain activation;
channels, defaults and the backbone's norm_cfg filled where the activation takes them;
errors name the backbone and act_cfg."""
import pytest
from torch import nn

from mmacon.models import AconC, AconFReLU, MetaAconC
from mmacon.models.backbones._act_factory import ActFactory, build_act, check_act_cfg


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


def test_fills_channels_and_defaults_where_taken():
    act = build_act(dict(type='MetaAconC'), 64, defaults=dict(reduction=8))
    assert isinstance(act, MetaAconC) and act.channels == 64 and act.reduction == 8
    act = build_act(dict(type='MetaAconC', reduction=4), 64, defaults=dict(reduction=8))
    assert act.reduction == 4  # act_cfg wins over defaults
    assert isinstance(build_act(dict(type='SiLU'), 64, defaults=dict(reduction=8)), nn.SiLU)
    assert build_act(dict(type='AconC'), 5).p1.shape[1] == 5


def test_norm_cfg_follows_backbone_unless_set():
    gn = dict(type='GN', num_groups=4)
    act = build_act(dict(type='MetaAconC'), 64, norm_cfg=gn)
    assert isinstance(act.bn1, nn.GroupNorm) and isinstance(act.bn2, nn.GroupNorm)
    act = build_act(dict(type='MetaAconC', norm_cfg=None), 64, norm_cfg=gn)
    assert isinstance(act.bn1, nn.Identity)  # act_cfg's own norm_cfg (even None) wins
    frelu = build_act(dict(type='AconFReLU'), 16, norm_cfg=gn)
    assert isinstance(frelu, AconFReLU)
    assert any(isinstance(m, nn.GroupNorm) for m in frelu.modules())
    assert isinstance(build_act(dict(type='AconC'), 8, norm_cfg=gn), AconC)  # takes none
    assert gn == dict(type='GN', num_groups=4)  # not modified


def test_typo_names_backbone_key_and_argument():
    with pytest.raises(TypeError) as info:
        build_act(dict(type='MetaAconC', reducton=8), 64, owner='AconResNet')
    msg = str(info.value)
    assert msg.startswith("AconResNet: act_cfg={'type': 'MetaAconC', 'reducton': 8} "
                          'cannot be built at 64 channels')
    assert 'reducton' in msg.split('channels', 1)[1]


def test_factory_plain_and_enabled():
    plain = ActFactory('Net', None, plain=lambda: nn.ReLU6(inplace=True))
    assert not plain.enabled and isinstance(plain(8), nn.ReLU6)
    acon = ActFactory('Net', dict(type='AconC'), norm_cfg=dict(type='BN'))
    assert acon.enabled and isinstance(acon(8), AconC)
    assert 'Net' in repr(acon)


def test_close_match_of_an_unknown_type_inside_a_backbone():
    from mmacon.models import AconResNet
    with pytest.raises(KeyError) as info:
        AconResNet(depth=18, act_cfg=dict(type='MetaAcon'))
    msg = str(info.value)
    assert "AconResNet: unknown activation type 'MetaAcon'" in msg
    assert "did you mean 'MetaAconC'?" in msg and 'did you import mmacon' not in msg


def test_error_without_message_names_its_type_and_line():
    from mmengine.registry import MODELS

    class Picky(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            if channels % 3:  # a bare assert here would get pytest's message
                raise AssertionError

    MODELS.register_module('PickyActForTest', module=Picky, force=True)
    try:
        with pytest.raises(AssertionError) as info:
            build_act(dict(type='PickyActForTest'), 64, owner='AconResNet')
    finally:
        MODELS.module_dict.pop('PickyActForTest')
    msg = str(info.value)
    assert msg.startswith("AconResNet: act_cfg={'type': 'PickyActForTest'} cannot be built at "
                          '64 channels: AssertionError without a message, raised at ')
    assert 'test_act_factory.py:' in msg and ': raise AssertionError (that line names' in msg


def test_error_text():
    from mmacon.models.backbones._act_factory import error_text
    assert error_text(ValueError('bad p1')) == 'bad p1'
    assert error_text(KeyError('no such key')) == 'no such key'  # not repr-quoted
    assert error_text(AssertionError()).startswith('AssertionError without a message (')
