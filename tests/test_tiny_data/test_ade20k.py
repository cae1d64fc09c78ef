"""Tiny ADE20K: format, mmseg loading, determinism, labels."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmacon.tiny_data import COCO_CLASSES, make_tiny_ade20k
from tests.test_tiny_data.helpers import colour_mask, tree_digest

SMALL = dict(num_train=6, num_val=3)


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_ade20k')
    make_tiny_ade20k(root, **SMALL)
    return root


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


def test_deterministic(tmp_path):
    make_tiny_ade20k(str(tmp_path / 'a'), num_train=3, num_val=2, seed=3)
    make_tiny_ade20k(str(tmp_path / 'b'), num_train=3, num_val=2, seed=3)
    make_tiny_ade20k(str(tmp_path / 'c'), num_train=3, num_val=2, seed=4)
    assert tree_digest(tmp_path / 'a') == tree_digest(tmp_path / 'b')
    assert tree_digest(tmp_path / 'a') != tree_digest(tmp_path / 'c')


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_classes'):
        make_tiny_ade20k(str(tmp_path / 'x'), num_classes=0)
    with pytest.raises(ValueError, match='at least one image'):
        make_tiny_ade20k(str(tmp_path / 'y'), num_train=0)


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
                assert colour_mask(img, colour)[region].mean() > 0.85
        assert not colour_mask(img, COCO_CLASSES[0][2], tol=30)[label == 0].any()
