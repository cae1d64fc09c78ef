"""Tiny data sets: upstream formats, upstream data sets/pipelines, determinism, labels."""
import hashlib
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmacon.tiny_data import (COCO_CLASSES, make_tiny_ade20k, make_tiny_cityscapes,
                              make_tiny_coco, tiny_coco_classes)
from mmacon.tiny_data.tiny import (CITYSCAPES_CAR, CITYSCAPES_IGNORE, CITYSCAPES_OBJECTS,
                                   CITYSCAPES_PERSON, CITYSCAPES_SIGN)
from tool_helpers import load_tool

SMALL = dict(num_train=6, num_val=3)


def _tree_digest(root):
    digest = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = osp.join(dirpath, name)
            digest.update(osp.relpath(path, root).encode())
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_coco')
    make_tiny_coco(root, **SMALL)
    return root


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_ade20k')
    make_tiny_ade20k(root, **SMALL)
    return root


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_cityscapes')
    make_tiny_cityscapes(root, **SMALL)
    return root


# ---------------------------------------------------------------- layout / format
def test_coco_layout_and_fields(coco_root):
    for split, num in (('train', 6), ('val', 3)):
        with open(osp.join(coco_root, 'annotations', f'instances_{split}2017.json')) as f:
            ann = json.load(f)
        assert {'images', 'annotations', 'categories', 'info', 'licenses'} <= set(ann)
        assert len(ann['images']) == num
        assert [c['name'] for c in ann['categories']] == list(tiny_coco_classes())
        for img in ann['images']:
            assert osp.isfile(osp.join(coco_root, f'{split}2017', img['file_name']))
        img_ids = {img['id'] for img in ann['images']}
        for a in ann['annotations']:
            assert a['image_id'] in img_ids and a['iscrowd'] == 0
            assert a['category_id'] in {c['id'] for c in ann['categories']}
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0 and a['area'] > 0 and a['area'] <= w * h
            poly = a['segmentation'][0]
            assert len(poly) >= 6 and len(poly) % 2 == 0


def test_ade20k_layout(ade_root):
    for folder, num in (('training', 6), ('validation', 3)):
        imgs = sorted(os.listdir(osp.join(ade_root, 'images', folder)))
        anns = sorted(os.listdir(osp.join(ade_root, 'annotations', folder)))
        assert len(imgs) == num and all(n.endswith('.jpg') for n in imgs)
        assert [n[:-4] for n in imgs] == [n[:-4] for n in anns]
        label = cv2.imread(osp.join(ade_root, 'annotations', folder, anns[0]),
                           cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.ndim == 2
        assert set(np.unique(label)) <= set(range(0, 5)) and (label == 0).any()


def test_cityscapes_layout(cityscapes_root):
    for split, num in (('train', 6), ('val', 3)):
        imgs = sorted(p for _, _, fs in os.walk(osp.join(cityscapes_root, 'leftImg8bit', split))
                      for p in fs)
        assert len(imgs) == num
        assert all(n.endswith('_leftImg8bit.png') for n in imgs)
        for city in os.listdir(osp.join(cityscapes_root, 'leftImg8bit', split)):
            for name in os.listdir(osp.join(cityscapes_root, 'leftImg8bit', split, city)):
                stem = name[:-len('_leftImg8bit.png')]
                assert len(stem.split('_')) == 3 and stem.startswith(city)
                label = cv2.imread(osp.join(cityscapes_root, 'gtFine', split, city,
                                            stem + '_gtFine_labelTrainIds.png'),
                                   cv2.IMREAD_UNCHANGED)
                assert label is not None and label.dtype == np.uint8
                values = set(np.unique(label).tolist())
                assert values <= {0, 2, 7, 10, 11, 13, 255}
                assert CITYSCAPES_IGNORE in values


# ---------------------------------------------------------------- upstream loaders
def test_coco_loads_with_mmdet(coco_root):
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(160, 128), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs')
    ]
    ds = CocoDataset(data_root=coco_root, ann_file='annotations/instances_train2017.json',
                     data_prefix=dict(img='train2017/'),
                     metainfo=dict(classes=tiny_coco_classes()),
                     filter_cfg=dict(filter_empty_gt=True, min_size=16),
                     pipeline=pipeline)
    assert len(ds) == 6
    sample = ds[0]
    inst = sample['data_samples'].gt_instances
    assert sample['inputs'].shape == (3, 128, 160)
    assert len(inst) >= 1 and inst.masks.masks.shape[0] == len(inst)
    assert inst.labels.max() < 3
    # each mask lies inside its box
    for box, mask in zip(inst.bboxes.tensor.numpy(), inst.masks.masks):
        ys, xs = np.nonzero(mask)
        assert xs.min() >= box[0] - 1 and xs.max() <= box[2] + 1
        assert ys.min() >= box[1] - 1 and ys.max() <= box[3] + 1


def test_coco_metric_perfect_on_ground_truth(coco_root):
    """CocoMetric gives AP 1.0 when the predictions are the ground truth."""
    import torch
    from mmdet.evaluation import CocoMetric
    ann_file = osp.join(coco_root, 'annotations', 'instances_val2017.json')
    with open(ann_file) as f:
        ann = json.load(f)
    metric = CocoMetric(ann_file=ann_file, metric='bbox')
    metric.dataset_meta = dict(classes=tiny_coco_classes())
    for img in ann['images']:
        objs = [a for a in ann['annotations'] if a['image_id'] == img['id']]
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                               a['bbox'][1] + a['bbox'][3]] for a in objs])
        pred = dict(bboxes=boxes, scores=torch.ones(len(objs)),
                    labels=torch.tensor([a['category_id'] - 1 for a in objs]))
        metric.process({}, [dict(img_id=img['id'], ori_shape=(img['height'], img['width']),
                                 pred_instances=pred)])
    res = metric.evaluate(len(ann['images']))
    assert res['coco/bbox_mAP'] == pytest.approx(1.0)


def test_ade20k_loads_with_mmseg(ade_root):
    from mmseg.datasets import ADE20KDataset
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(128, 128), ratio_range=(0.5, 2.0), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 64), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs')
    ]
    ds = ADE20KDataset(data_root=ade_root,
                       data_prefix=dict(img_path='images/training',
                                        seg_map_path='annotations/training'),
                       pipeline=pipeline)
    assert len(ds) == 6
    sample = ds[0]
    seg = sample['data_samples'].gt_sem_seg.data
    assert sample['inputs'].shape[1:] == (64, 64) and seg.shape[1:] == (64, 64)
    # reduce_zero_label: background 0 -> 255, classes 1..4 -> 0..3
    assert set(seg.unique().tolist()) <= {0, 1, 2, 3, 255}
    raw = ds.get_data_info(0)
    label = cv2.imread(raw['seg_map_path'], cv2.IMREAD_UNCHANGED)
    assert raw['reduce_zero_label'] and (label == 0).any() and (label > 0).any()


def test_cityscapes_loads_with_mmseg(cityscapes_root):
    from mmseg.datasets import CityscapesDataset
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomResize', scale=(256, 128), ratio_range=(0.5, 2.0), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(64, 128), cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs')
    ]
    ds = CityscapesDataset(data_root=cityscapes_root,
                           data_prefix=dict(img_path='leftImg8bit/train',
                                            seg_map_path='gtFine/train'),
                           pipeline=pipeline)
    assert len(ds) == 6
    sample = ds[0]
    assert sample['inputs'].shape[1:] == (64, 128)
    assert set(sample['data_samples'].gt_sem_seg.data.unique().tolist()) <= \
        {0, 2, 7, 10, 11, 13, 255}
    # the val split of the test pipeline: full-size label, train ids kept
    val = CityscapesDataset(data_root=cityscapes_root,
                            data_prefix=dict(img_path='leftImg8bit/val',
                                             seg_map_path='gtFine/val'),
                            pipeline=[dict(type='LoadImageFromFile'),
                                      dict(type='Resize', scale=(256, 128), keep_ratio=True),
                                      dict(type='LoadAnnotations'),
                                      dict(type='PackSegInputs')])
    assert len(val) == 3
    assert val[0]['data_samples'].gt_sem_seg.data.shape[1:] == (128, 256)


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize('maker', [make_tiny_coco, make_tiny_ade20k, make_tiny_cityscapes])
def test_deterministic(maker, tmp_path):
    maker(str(tmp_path / 'a'), num_train=3, num_val=2, seed=3)
    maker(str(tmp_path / 'b'), num_train=3, num_val=2, seed=3)
    maker(str(tmp_path / 'c'), num_train=3, num_val=2, seed=4)
    assert _tree_digest(tmp_path / 'a') == _tree_digest(tmp_path / 'b')
    assert _tree_digest(tmp_path / 'a') != _tree_digest(tmp_path / 'c')


def test_regenerate_replaces(tmp_path):
    root = str(tmp_path / 'coco')
    make_tiny_coco(root, num_train=4, num_val=2)
    make_tiny_coco(root, num_train=2, num_val=1)
    assert len(os.listdir(osp.join(root, 'train2017'))) == 2


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_classes'):
        make_tiny_coco(str(tmp_path / 'x'), num_classes=len(COCO_CLASSES) + 1)
    with pytest.raises(ValueError, match='at least one image'):
        make_tiny_ade20k(str(tmp_path / 'y'), num_train=0)


# ---------------------------------------------------------------- labels match shapes
def _colour_mask(img, colour, tol=45):
    return (np.abs(img.astype(np.int32) - np.asarray(colour)).max(-1) <= tol)


def test_coco_labels_match_drawn_shapes(coco_root):
    from pycocotools import mask as mask_utils
    with open(osp.join(coco_root, 'annotations', 'instances_train2017.json')) as f:
        ann = json.load(f)
    colours = {i + 1: colour for i, (_, _, colour) in enumerate(COCO_CLASSES)}
    for img_info in ann['images']:
        img = cv2.imread(osp.join(coco_root, 'train2017', img_info['file_name']))
        h, w = img.shape[:2]
        for a in (a for a in ann['annotations'] if a['image_id'] == img_info['id']):
            rle = mask_utils.frPyObjects(a['segmentation'], h, w)
            mask = mask_utils.decode(mask_utils.merge(rle)).astype(bool)
            drawn = _colour_mask(img, colours[a['category_id']])
            # the polygon's pixels have the class colour (jpeg: allow the rim)
            assert drawn[mask].mean() > 0.85
            x, y, bw, bh = (int(round(v)) for v in a['bbox'])
            box = np.zeros_like(mask)
            box[y:y + bh, x:x + bw] = True
            # the class colour inside the box belongs to this object
            assert (drawn & box & mask).sum() / max((drawn & box).sum(), 1) > 0.85
            assert abs(a['area'] - mask.sum()) <= 0.15 * a['area']


def test_ade20k_labels_match_drawn_shapes(ade_root):
    folder = osp.join(ade_root, 'images', 'training')
    for name in sorted(os.listdir(folder)):
        img = cv2.imread(osp.join(folder, name))
        label = cv2.imread(osp.join(ade_root, 'annotations', 'training',
                                    name.replace('.jpg', '.png')), cv2.IMREAD_UNCHANGED)
        for cls in range(1, 5):
            region = label == cls
            if region.any():
                colour = COCO_CLASSES[cls - 1][2]
                assert _colour_mask(img, colour)[region].mean() > 0.85
        assert not _colour_mask(img, COCO_CLASSES[0][2], tol=30)[label == 0].any()


def test_cityscapes_labels_match_drawn_shapes(cityscapes_root):
    folder = osp.join(cityscapes_root, 'leftImg8bit', 'train')
    for city in sorted(os.listdir(folder)):
        for name in sorted(os.listdir(osp.join(folder, city))):
            img = cv2.imread(osp.join(folder, city, name))
            label = cv2.imread(osp.join(cityscapes_root, 'gtFine', 'train', city,
                                        name.replace('_leftImg8bit.png',
                                                     '_gtFine_labelTrainIds.png')),
                               cv2.IMREAD_UNCHANGED)
            for train_id in (CITYSCAPES_CAR, CITYSCAPES_PERSON, CITYSCAPES_SIGN):
                region = label == train_id
                if region.any():
                    colour = CITYSCAPES_OBJECTS[train_id][1]
                    assert _colour_mask(img, colour, tol=25)[region].all()
            # the ego-vehicle hood (ignore) is the dark bottom rows
            assert (label[-1] == CITYSCAPES_IGNORE).all()
            assert img[label == CITYSCAPES_IGNORE].mean() < 60


def test_cli(tmp_path, capsys):
    cli = load_tool('tools/misc/make_tiny_datasets.py')
    cli.main(['--out', str(tmp_path), '--num-train', '2', '--num-val', '1'])
    out = capsys.readouterr().out
    for name in ('tiny_coco', 'tiny_ade20k', 'tiny_cityscapes'):
        assert name in out and osp.isdir(tmp_path / name)
    assert osp.isfile(tmp_path / 'tiny_coco' / 'annotations' / 'instances_val2017.json')
    assert len(os.listdir(tmp_path / 'tiny_ade20k' / 'images' / 'training')) == 2
