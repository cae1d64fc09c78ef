"""register_scope: the package a config trains with, from its default_scope."""
import pytest
from mmengine.config import Config

from mmacon.utils.scope import register_scope


def test_scope_picks_package():
    assert register_scope(Config(dict(default_scope='mmdet'))) == 'mmdet'
    assert register_scope(Config(dict(default_scope='mmseg'))) == 'mmseg'
    # the ImageNet pretraining configs (configs/imagenet)
    assert register_scope(Config(dict(default_scope='mmpretrain'))) == 'mmpretrain'
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as CLS
    from mmseg.registry import MODELS as SEG
    assert DET.get('RetinaNet') is not None and SEG.get('EncoderDecoder') is not None
    assert CLS.get('ImageClassifier') is not None
    with pytest.raises(ValueError, match=r"default_scope must be one of \('mmdet', 'mmseg', "
                       r"'mmpretrain'\), got 'mmocr'"):
        register_scope(Config(dict(default_scope='mmocr')))


@pytest.mark.parametrize('scope,dist,extra', [('mmdet', 'mmdet', 'det'),
                                              ('mmseg', 'mmsegmentation', 'seg'),
                                              ('mmpretrain', 'mmpretrain', 'cls')])
def test_a_missing_package_names_its_extra(monkeypatch, scope, dist, extra):
    import sys
    monkeypatch.setitem(sys.modules, f'{scope}.utils', None)  # as if not installed
    monkeypatch.setitem(sys.modules, scope, None)
    with pytest.raises(ModuleNotFoundError) as err:
        register_scope(Config(dict(default_scope=scope)))
    assert str(err.value) == (f"config default_scope={scope!r} needs {dist}, which is not "
                              f'installed: pip install "mmacon[{extra}]"')
