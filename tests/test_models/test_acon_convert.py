"""acon_convert / 'AconConvert': upstream mmdet and mmseg models with ACON in necks and heads."""
import os.path as osp
import warnings

import mmdet
import pytest
import torch
from mmcv.cnn import ConvModule
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

import mmacon  # noqa: F401  (registers AconConvert)
from mmacon.models import acon_convert
from mmacon.models.activations import AconC, MetaAconC

FCOS_CONFIG = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'fcos',
                       'fcos_r50-caffe_fpn_gn-head_1x_coco.py')


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_fcos_cfg():
    """mmdet's own FCOS config, shrunk: ResNet-18, 64-wide FPN with ReLU, 2 stacked convs.

    (64 wide: the head's GN has 32 groups, and P7 of a 64x64 image is 1x1.)
    """
    model = Config.fromfile(FCOS_CONFIG).model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.update(in_channels=[64, 128, 256, 512], out_channels=64, act_cfg=dict(type='ReLU'))
    model.bbox_head.update(num_classes=3, in_channels=64, feat_channels=64, stacked_convs=2)
    return model.to_dict()


def small_fcn_cfg():
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.7, 116.3, 103.5],
                               std=[58.4, 57.1, 57.4], size=(64, 64)),
        backbone=dict(type='ResNetV1c', depth=18, out_indices=(3, ), strides=(1, 2, 1, 1),
                      dilations=(1, 1, 2, 4), norm_cfg=dict(type='BN')),
        decode_head=dict(type='FCNHead', in_channels=512, in_index=0, channels=16, num_convs=2,
                         concat_input=True, num_classes=3, norm_cfg=dict(type='BN')))


def activated(model, prefixes):
    return {n: m for n, m in model.named_modules() if isinstance(m, ConvModule) and m.with_activation
            and any(n.startswith(p + '.') for p in prefixes)}


def check_converted(upstream, model, prefixes, cls=AconC):
    targets = activated(upstream, prefixes)
    assert targets, 'the upstream model has activations to convert'
    for name, m in activated(model, prefixes).items():
        assert type(m.activate) is cls, name
        assert m.activate.channels == m.conv.out_channels == targets[name].conv.out_channels, name
        assert m.act_cfg['type'] == cls.__name__
    assert set(activated(model, prefixes)) == set(targets)
    # everything outside the targets keeps upstream's activation
    for name, m in model.named_modules():
        if isinstance(m, ConvModule) and m.with_activation and name not in targets:
            assert type(m.activate) is type(dict(upstream.named_modules())[name].activate), name
    extra = {f'{n}.activate.{p}' for n in targets for p in ('p1', 'p2', 'beta')}
    assert set(model.state_dict()) == set(upstream.state_dict()) | extra
    return targets


def test_fcos_neck_and_head_through_the_registry():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        upstream = MODELS.build(small_fcos_cfg())
        model = MODELS.build(dict(small_fcos_cfg(), type='AconConvert', model_type='FCOS',
                                  convert=dict(act_cfg=dict(type='AconC'),
                                               include=('neck', 'bbox_head'))))
    assert type(model) is type(upstream)  # the upstream model object itself
    assert type(model.data_preprocessor).__name__ == 'DetDataPreprocessor'
    targets = check_converted(upstream, model, ('neck', 'bbox_head'))
    # FPN: 4 lateral + 4 output convs with ReLU; head: 2 cls + 2 reg stacked convs
    assert len(targets) == 12
    assert {n for n in targets if n.startswith('bbox_head')} == {
        'bbox_head.cls_convs.0', 'bbox_head.cls_convs.1', 'bbox_head.reg_convs.0', 'bbox_head.reg_convs.1'}
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64),
                                         scale_factor=(1.0, 1.0), batch_input_shape=(64, 64)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[8.0, 10.0, 40.0, 50.0]]),
                                       labels=torch.tensor([1]))
    losses = model.loss(torch.randn(1, 3, 64, 64), [sample])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for name in targets:
        acon = dict(model.named_modules())[name].activate
        assert acon.p1.grad is not None and acon.p1.grad.abs().sum() > 0, name


def test_fcn_head_with_meta_acon_in_python():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        upstream = MODELS.build(small_fcn_cfg())
        model = acon_convert(small_fcn_cfg(), act_cfg=dict(type='MetaAconC', reduction=4),
                             include='decode_head')
    targets = {n: m for n, m in activated(upstream, ('decode_head', )).items()}
    assert set(targets) == {'decode_head.convs.0', 'decode_head.convs.1', 'decode_head.conv_cat'}
    for name, m in activated(model, ('decode_head', )).items():
        assert type(m.activate) is MetaAconC and m.activate.channels == m.conv.out_channels == 16, name
    assert not any(isinstance(m, (AconC, MetaAconC)) for m in model.backbone.modules())
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64)))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 64, 64)))
    losses = model.loss(torch.randn(2, 3, 64, 64), [sample, sample])
    losses['decode.loss_ce'].backward()
    assert model.decode_head.conv_cat.activate.fc1.weight.grad.abs().sum() > 0


def test_fcn_head_acon_c_state_dict_gains_acon_tensors():
    with DefaultScope.overwrite_default_scope('mmseg'):
        upstream = MODELS.build(small_fcn_cfg())
        # the keys mmseg's init_model sets pass through to the EncoderDecoder
        model = MODELS.build(dict(small_fcn_cfg(), type='AconConvert', model_type='EncoderDecoder',
                                  convert=dict(include=('decode_head', )), pretrained=None,
                                  train_cfg=None))
    check_converted(upstream, model, ('decode_head', ))
    assert model.encode_decode(torch.randn(1, 3, 64, 64), [dict(img_shape=(64, 64))]).shape == (1, 3, 64, 64)


def test_include_exclude_and_act_first_order():
    m = torch.nn.Sequential(ConvModule(3, 8, 3), ConvModule(8, 16, 1, order=('act', 'conv', 'norm')),
                            ConvModule(16, 4, 1, act_cfg=None))
    acon_convert(m, exclude='0')
    assert type(m[0].activate) is torch.nn.ReLU
    assert type(m[1].activate) is AconC and m[1].activate.channels == 8  # act runs before the conv
    assert not m[2].with_activation
    assert m(torch.randn(1, 3, 6, 6)).shape == (1, 4, 4, 4)


def test_errors_name_the_problem():
    m = torch.nn.Sequential(ConvModule(3, 8, 3, act_cfg=None))
    with pytest.raises(ValueError, match=r"^AconConvert: no ConvModule with an activation in the model "
                                         r"of the Sequential \(one built with act_cfg=None has none"):
        acon_convert(m)
    with pytest.raises(KeyError, match=r"include names 'neck', which is not in the Sequential; its "
                                       r'top-level modules: 0'):
        acon_convert(m, include='neck')
    with pytest.raises(ValueError, match=r'sets channels; leave it out'):
        acon_convert(m, act_cfg=dict(type='AconC', channels=8))


def test_config_inheriting_an_upstream_model_changes_type_and_adds_two_keys(tmp_path):
    """The model dict keeps the upstream fields: mmengine merges the child's keys into the
    base's."""
    base = tmp_path / 'base.py'
    base.write_text(f'default_scope = "mmseg"\nmodel = {small_fcn_cfg()!r}\n')
    child = tmp_path / 'child.py'
    child.write_text("_base_ = './base.py'\n"
                     "model = dict(type='AconConvert', model_type='EncoderDecoder',\n"
                     "             convert=dict(act_cfg=dict(type='AconC'),\n"
                     "                          include='decode_head'))\n")
    cfg = Config.fromfile(str(child))
    assert set(cfg.model) == set(small_fcn_cfg()) | {'model_type', 'convert'}
    assert cfg.model.backbone.depth == 18  # what init_detector / init_model read is there
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        upstream = MODELS.build(small_fcn_cfg())
    check_converted(upstream, model, ('decode_head', ))


def test_config_errors_say_what_to_write():
    fcn = small_fcn_cfg()
    with DefaultScope.overwrite_default_scope('mmseg'):
        # the first, nested form: its values come back in the form to write
        with pytest.raises(TypeError) as info:
            MODELS.build(dict(type='AconConvert', model=fcn, act_cfg=dict(type='AconC'),
                              include=('decode_head', )))
        assert str(info.value) == (
            "AconConvert: the nested form model=dict(type='EncoderDecoder', ...) beside act_cfg, "
            'include is not supported: the entry points that read cfg.model.backbone or set '
            'cfg.model.pretrained (init_detector, init_model) cannot see into it. Keep the '
            "upstream model's fields at the top level: model=dict(type='AconConvert', "
            "model_type='EncoderDecoder', convert=dict(act_cfg={'type': 'AconC'}, "
            "include=('decode_head',)), <the EncoderDecoder's own fields: backbone=..., ...>)")
        with pytest.raises(TypeError, match=r"^AconConvert needs model_type, the type of the "
                                            r"upstream model it converts, e\.g\. .*; got the keys "
                                            r"\['backbone', 'data_preprocessor', 'decode_head'\]$"):
            MODELS.build(dict(fcn, type='AconConvert'))
        with pytest.raises(KeyError, match=r"AconConvert: model_type 'EncoderDecodr' is not in the "
                                           r"mmseg::model registry"):
            MODELS.build(dict(fcn, type='AconConvert', model_type='EncoderDecodr'))
        with pytest.raises(ValueError, match=r"got 'AconConvert' itself"):
            MODELS.build(dict(fcn, type='AconConvert', model_type='AconConvert'))
        with pytest.raises(TypeError, match=r"^AconConvert: convert has 'includes', which is not "
                                            r"one of \('act_cfg', 'include', 'exclude'\)"):
            MODELS.build(dict(fcn, type='AconConvert', model_type='EncoderDecoder',
                              convert=dict(includes='decode_head')))
        # acon_convert's argument beside convert instead of in it
        with pytest.raises(TypeError, match=r"^AconConvert: include='decode_head' went to the "
                                            r"EncoderDecoder, which does not take it \(.*\); "
                                            r"acon_convert's arguments go into convert: "
                                            r"model=dict\(type='AconConvert', model_type="
                                            r"'EncoderDecoder', "
                                            r"convert=dict\(include='decode_head'\)"):
            MODELS.build(dict(fcn, type='AconConvert', model_type='EncoderDecoder',
                              include='decode_head'))
    # no default scope: the message says how to name one
    with pytest.raises(KeyError, match=r"model_type 'EncoderDecoder' is not in the "
                                       r"mmengine::model registry \(set the config's "
                                       r"default_scope, e\.g\. default_scope='mmdet', or the "
                                       r"model's: model=dict\(type='AconConvert', "
                                       r"_scope_='mmdet', \.\.\.\)\)"):
        MODELS.build(dict(fcn, type='AconConvert', model_type='EncoderDecoder'))
    # with the model's scope written, it builds without a default scope
    model = MODELS.build(dict(fcn, type='AconConvert', _scope_='mmseg',
                              model_type='EncoderDecoder', convert=dict(include='decode_head')))
    assert type(model).__name__ == 'EncoderDecoder'


def test_unknown_act_type_names_the_close_match():
    m = torch.nn.Sequential(ConvModule(3, 8, 3))
    with pytest.raises(KeyError, match=r"AconConvert: unknown activation type 'MetaAcon' .*"
                                       r"did you mean 'MetaAconC'\?"):
        acon_convert(m, act_cfg=dict(type='MetaAcon'))
    assert isinstance(m[0].activate, torch.nn.ReLU)  # refused before any change


# ---------------------------------------------------------------- zero RoIs in a two-stage head
MASK_RCNN_CONFIG = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'mask_rcnn',
                            'mask-rcnn_r50_fpn_1x_coco.py')


def small_mask_rcnn_cfg():
    """mmdet's own Mask R-CNN R-50 FPN config, shrunk: ResNet-18, 32 wide, 3 classes."""
    model = Config.fromfile(MASK_RCNN_CONFIG).model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.update(in_channels=[64, 128, 256, 512], out_channels=32)
    model.rpn_head.update(in_channels=32, feat_channels=32)
    roi = model.roi_head
    roi.bbox_roi_extractor.out_channels = roi.mask_roi_extractor.out_channels = 32
    roi.bbox_head.update(in_channels=32, fc_out_channels=64, num_classes=3)
    roi.mask_head.update(in_channels=32, conv_out_channels=32, num_classes=3)
    model.train_cfg.rpn.sampler.num = 64
    model.train_cfg.rcnn.sampler.num = 32
    return model  # a ConfigDict: mmdet reads train_cfg.rpn as an attribute


def det_batch(with_gt, size=64, seed=0):
    """One uint8 image; ground truth of 2 objects, or none (empty gt_instances)."""
    import numpy as np
    from mmdet.structures.mask import BitmapMasks
    g = torch.Generator().manual_seed(seed)
    sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                         scale_factor=(1.0, 1.0)))
    boxes = torch.tensor([[4.0, 6.0, 40.0, 44.0], [20.0, 24.0, 60.0, 58.0]])[:2 if with_gt else 0]
    masks = np.zeros((len(boxes), size, size), dtype=np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes.int().tolist()):
        mask[y1:y2, x1:x2] = 1
    sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 2])[:len(boxes)],
                                       masks=BitmapMasks(masks, size, size))
    image = torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
    return dict(inputs=[image], data_samples=[sample])


def train_step(model, data):
    """One real mmengine train step (SGD with momentum, no weight decay)."""
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = model.train_step(data, wrapper)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    return losses, changed


@pytest.mark.parametrize('act_cfg', [dict(type='MetaAconC', reduction=4),
                                     dict(type='MetaAconC', mode='pixel'), dict(type='AconC')],
                         ids=['meta-channel', 'meta-pixel', 'aconc'])
def test_mask_rcnn_roi_head_trains_on_an_image_without_ground_truth(act_cfg):
    """No ground truth: no positive RoI, so the mask head's convs get (0, 32, 14, 14) inputs."""
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        upstream = MODELS.build(small_mask_rcnn_cfg()).train()
        model = acon_convert(small_mask_rcnn_cfg(), act_cfg=act_cfg, include=('roi_head', ))
    model.load_state_dict(upstream.state_dict(), strict=False)
    model.train()
    acons = {n: m for n, m in model.named_modules() if n.endswith('.activate')}
    assert set(acons) == {f'roi_head.mask_head.convs.{i}.activate' for i in range(4)}
    assert all(type(m).__name__ == act_cfg['type'] for m in acons.values())
    stats = {k: v.clone() for k, v in model.state_dict().items() if '.activate.' in k}

    # upstream's ReLU model, the oracle: trains on the image, mask loss 0
    ref_losses, ref_changed = train_step(upstream, det_batch(with_gt=False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        losses, changed = train_step(model, det_batch(with_gt=False))
    assert [str(w.message) for w in caught if 'mmacon' in w.filename] == []  # no single-value
    assert set(losses) == set(ref_losses)
    for key, value in losses.items():
        assert torch.isfinite(value), key
    assert float(losses['loss_mask'].detach()) == float(ref_losses['loss_mask'].detach()) == 0.0
    # the same parameters learn as upstream's (backbone, RPN, bbox head); the mask head's
    # got zero gradients (a NaN would have reached them), the ACON ones included
    assert changed == ref_changed and any(n.startswith('roi_head.bbox_head') for n in changed)
    assert not any(n.startswith('roi_head.mask_head') for n in changed)
    for name, p in model.named_parameters():
        assert torch.isfinite(p).all(), name
    for key, value in model.state_dict().items():  # generator BN statistics: unchanged
        if key in stats:
            assert torch.equal(value, stats[key]), key

    # and with ground truth the ACON parameters of the mask head train
    losses, changed = train_step(model, det_batch(with_gt=True, seed=1))
    assert all(torch.isfinite(v) for v in losses.values())
    assert float(losses['loss_mask'].detach()) > 0
    slopes = {f'{n}.{p}' for n in acons for p in ('p1', 'p2')}
    assert slopes <= changed, slopes - changed
