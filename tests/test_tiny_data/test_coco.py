"""Tiny COCO: format, mmdet loading and metric, determinism, labels."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmacon.tiny_data import COCO_CLASSES, make_tiny_coco, tiny_coco_classes
from tests.test_tiny_data.helpers import colour_mask, tree_digest

SMALL = dict(num_train=6, num_val=3)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_coco')
    make_tiny_coco(root, **SMALL)
    return root


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


def test_deterministic(tmp_path):
    make_tiny_coco(str(tmp_path / 'a'), num_train=3, num_val=2, seed=3)
    make_tiny_coco(str(tmp_path / 'b'), num_train=3, num_val=2, seed=3)
    make_tiny_coco(str(tmp_path / 'c'), num_train=3, num_val=2, seed=4)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b')
    assert tree_digest(tmp_path / 'a') != tree_digest(tmp_path / 'c')


def test_regenerate_replaces(tmp_path):
    root = str(tmp_path / 'coco')
    make_tiny_coco(root, num_train=4, num_val=2)
    make_tiny_coco(root, num_train=2, num_val=1)
    assert len(os.listdir(osp.join(root, 'train2017'))) == 2


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_classes'):
        make_tiny_coco(str(tmp_path / 'x'), num_classes=len(COCO_CLASSES) + 1)
    with pytest.raises(ValueError, match='at least one image'):
        make_tiny_coco(str(tmp_path / 'y'), num_val=0)


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
            drawn = colour_mask(img, colours[a['category_id']])
            # the polygon's pixels have the class colour (jpeg: allow the rim)
            assert drawn[mask].mean() > 0.85
            x, y, bw, bh = (int(round(v)) for v in a['bbox'])
            box = np.zeros_like(mask)
            box[y:y + bh, x:x + bw] = True
            # the class colour inside the box belongs to this object
            assert (drawn & box & mask).sum() / max((drawn & box).sum(), 1) > 0.85
            assert abs(a['area'] - mask.sum()) <= 0.15 * a['area']
