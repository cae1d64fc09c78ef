"""Tiny Cityscapes: format, mmseg loading, determinism, labels."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmacon.tiny_data import make_tiny_cityscapes
from mmacon.tiny_data.cityscapes import (CITYSCAPES_CAR, CITYSCAPES_IGNORE, CITYSCAPES_OBJECTS,
                                         CITYSCAPES_PERSON, CITYSCAPES_SIGN)
from tests.test_tiny_data.helpers import colour_mask, tree_digest

SMALL = dict(num_train=6, num_val=3)


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_cityscapes')
    make_tiny_cityscapes(root, **SMALL)
    return root


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


def test_deterministic(tmp_path):
    make_tiny_cityscapes(str(tmp_path / 'a'), num_train=3, num_val=2, seed=3)
    make_tiny_cityscapes(str(tmp_path / 'b'), num_train=3, num_val=2, seed=3)
    make_tiny_cityscapes(str(tmp_path / 'c'), num_train=3, num_val=2, seed=4)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b')
    assert tree_digest(tmp_path / 'a') != tree_digest(tmp_path / 'c')


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
                    assert colour_mask(img, colour, tol=25)[region].all()
            # the ego-vehicle hood (ignore) is the dark bottom rows
            assert (label[-1] == CITYSCAPES_IGNORE).all()
            assert img[label == CITYSCAPES_IGNORE].mean() < 60
