"""Tiny ImageNet: mmpretrain's ImageNet reads it, its Accuracy scores it, labels are shapes."""
import hashlib
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmacon.tiny_data import make_tiny_imagenet, tiny_imagenet_classes
from mmacon.tiny_data.imagenet import PALETTE, SHAPES

NUM_TRAIN, NUM_VAL = 10, 5


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data') / 'tiny_imagenet')
    make_tiny_imagenet(root, num_train=NUM_TRAIN, num_val=NUM_VAL)
    return root


def _digest(root):
    digest = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), 'rb') as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


def _dataset(root, split, **kwargs):
    from mmpretrain.datasets import ImageNet
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=True)  # its transforms, whatever ran before
    return ImageNet(data_root=root, split=split,
                    metainfo=dict(classes=tiny_imagenet_classes()), **kwargs)


def test_layout(root):
    assert sorted(os.listdir(root)) == ['meta', 'train', 'val']
    assert sorted(os.listdir(osp.join(root, 'train'))) == sorted(SHAPES)
    assert len(os.listdir(osp.join(root, 'val'))) == NUM_VAL
    with open(osp.join(root, 'meta', 'classes.txt')) as f:
        assert tuple(f.read().split()) == SHAPES
    with open(osp.join(root, 'meta', 'train.txt')) as f:
        lines = [line.split() for line in f]
    assert len(lines) == NUM_TRAIN
    for i, (rel, label) in enumerate(lines):
        assert int(label) == i % len(SHAPES)  # balanced
        assert rel.split('/')[0] == SHAPES[int(label)] and rel.endswith('.JPEG')
        assert osp.isfile(osp.join(root, 'train', rel))


@pytest.mark.parametrize('split,num', [('train', NUM_TRAIN), ('val', NUM_VAL)])
def test_loads_with_mmpretrain_imagenet(root, split, num):
    """``ImageNet(split=...)`` finds ``meta/<split>.txt`` itself; the pipeline runs."""
    pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs')]
    ds = _dataset(root, split, pipeline=pipeline)
    assert len(ds) == num
    assert ds.metainfo['classes'] == SHAPES
    assert ds.ann_file.endswith(osp.join('meta', f'{split}.txt'))
    sample = ds[1]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    assert sample['inputs'].dtype == torch.uint8
    assert sample['data_samples'].gt_label.tolist() == [1]
    assert ds.get_gt_labels().tolist() == [i % len(SHAPES) for i in range(num)]


def test_folder_layout_alone_is_imagenet_readable(root):
    """Without meta/, ``CustomDataset`` reads the class folders of train/ (sorted names)."""
    from mmpretrain.datasets import CustomDataset
    ds = CustomDataset(data_root=root, data_prefix='train')
    assert ds.metainfo['classes'] == tuple(sorted(SHAPES))
    assert len(ds) == NUM_TRAIN


def test_scored_by_mmpretrain_accuracy(root):
    """mmpretrain's Accuracy over the val set: 100 for the labels, 60 with 2 of 5 wrong."""
    from mmpretrain.evaluation import Accuracy
    from mmpretrain.structures import DataSample
    labels = _dataset(root, 'val').get_gt_labels().tolist()
    for wrong, expected in ((set(), 100.0), ({0, 3}, 60.0)):
        metric = Accuracy(topk=(1, ))
        metric.dataset_meta = dict(classes=SHAPES)
        samples = []
        for i, label in enumerate(labels):
            pred = (label + 1) % len(SHAPES) if i in wrong else label
            score = torch.nn.functional.one_hot(torch.tensor(pred), len(SHAPES)).float()
            samples.append(DataSample().set_gt_label(label).set_pred_score(score)
                           .set_pred_label(pred).to_dict())
        metric.process(None, samples)
        assert metric.evaluate(len(samples)) == {'accuracy/top1': pytest.approx(expected)}


def _blob(img):
    """Mask of the pixels near a palette colour (the drawn shape)."""
    dist = np.abs(img.astype(np.int32)[:, :, None] - np.asarray(PALETTE)).max(-1)
    return (dist.min(-1) <= 40).astype(np.uint8)


def _shape_of(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    vertices = len(cv2.approxPolyDP(contour, 0.04 * cv2.arcLength(contour, True), True))
    x, y, w, h = cv2.boundingRect(contour)
    fill_ratio = cv2.contourArea(contour) / (w * h)
    if vertices == 3:
        return 'triangle'
    if vertices == 4:
        return 'square' if fill_ratio > 0.85 else 'diamond'
    return 'circle' if 0.8 < h / w < 1.25 else 'ellipse'


def test_label_is_the_drawn_shape(root):
    with open(osp.join(root, 'meta', 'train.txt')) as f:
        for line in f:
            rel, label = line.split()
            img = cv2.imread(osp.join(root, 'train', rel))
            assert _shape_of(_blob(img)) == SHAPES[int(label)], rel


def test_deterministic(tmp_path):
    for name, seed in (('a', 3), ('b', 3), ('c', 4)):
        make_tiny_imagenet(str(tmp_path / name), num_train=3, num_val=2, seed=seed)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r'num_classes must be in \[1, 5\], got 6'):
        make_tiny_imagenet(str(tmp_path / 'x'), num_classes=6)
    with pytest.raises(ValueError, match='at least one image'):
        make_tiny_imagenet(str(tmp_path / 'y'), num_val=0)
    with pytest.raises(ValueError, match='size_range'):
        make_tiny_imagenet(str(tmp_path / 'z'), size_range=(0.5, 1.2))
