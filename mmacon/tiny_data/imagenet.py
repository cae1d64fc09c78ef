"""A deterministic tiny ImageNet-format classification set (one shape per image).

Layout, as mmpretrain 1.2's ``ImageNet`` (a ``CustomDataset``) reads it with
``data_root=root, split='train'|'val'`` (it picks up ``meta/<split>.txt`` by itself)::

    {root}/train/<class>/<class>_<idx:05d>.JPEG   # one folder per class, as ImageNet
    {root}/val/ILSVRC2012_val_<idx:08d>.JPEG      # flat, as ImageNet's val
    {root}/meta/train.txt, meta/val.txt           # "<path relative to split> <label>"
    {root}/meta/classes.txt                        # one class name per line

A class is a shape (:data:`SHAPES` order); its colour is drawn at random from the
palette of the other tiny sets, so the label is the shape, not the colour: the
features a backbone learns here are the ones the tiny detection/segmentation sets
need. Pass ``metainfo=dict(classes=tiny_imagenet_classes(K))`` to the data set
(``ImageNet`` otherwise assumes the 1000 ImageNet-1k names). Labels are balanced
(image ``i`` has label ``i % K``), and the same seed gives byte-identical files.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, Tuple

import numpy as np

from .common import (CLASSES, DATASET_KEYS, check_classes, check_counts, fill, imwrite,
                     jitter_colour, make_rng, reset_dir, shape_polygon, textured_background)

SHAPES: Tuple[str, ...] = tuple(shape for _, shape, _ in CLASSES)
PALETTE = tuple(colour for _, _, colour in CLASSES)


def tiny_imagenet_classes(num_classes: int = len(SHAPES)) -> Tuple[str, ...]:
    """Class names of :func:`make_tiny_imagenet` (use as ``metainfo.classes``)."""
    check_classes(num_classes, len(SHAPES))
    return SHAPES[:num_classes]


def _draw(rng: np.random.Generator, shape: str, img_size: int,
          size_range: Tuple[float, float]) -> np.ndarray:
    img = textured_background(rng, img_size, img_size)
    size = rng.uniform(*size_range) * img_size
    margin = size / 2 + 1
    cx, cy = rng.uniform(margin, img_size - margin, size=2)
    colour = PALETTE[int(rng.integers(len(PALETTE)))]
    fill(img, shape_polygon(shape, cx, cy, size, rng), jitter_colour(rng, colour))
    return np.round(img).astype(np.uint8)


def make_tiny_imagenet(root: str, num_train: int = 320, num_val: int = 80,
                       img_size: int = 64, num_classes: int = len(SHAPES),
                       size_range: Tuple[float, float] = (0.35, 0.8),
                       seed: int = 0) -> Dict[str, str]:
    """Write a tiny ImageNet-format classification set to ``root``.

    Args:
        root: output directory (replaced if it exists).
        num_train, num_val: number of images in ``train/`` and ``val/``.
        img_size: side of the square images.
        num_classes: classes used, the first ``num_classes`` of :data:`SHAPES`.
        size_range: shape size as a fraction of ``img_size``.
        seed: everything is a function of this seed.

    Returns:
        dict of split -> annotation file (``meta/<split>.txt``).
    """
    check_counts(num_train, num_val)
    classes = tiny_imagenet_classes(num_classes)
    if not 0 < size_range[0] <= size_range[1] < 1:
        raise ValueError(f'size_range must satisfy 0 < low <= high < 1, got {size_range}')
    reset_dir(root)
    os.makedirs(osp.join(root, 'meta'))
    with open(osp.join(root, 'meta', 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    out = {}
    for key, (split, num) in enumerate((('train', num_train), ('val', num_val))):
        lines = []
        for idx in range(num):
            label = idx % num_classes
            rng = make_rng(seed, DATASET_KEYS['imagenet'], key, idx)
            img = _draw(rng, classes[label], img_size, size_range)
            if split == 'train':
                rel = f'{classes[label]}/{classes[label]}_{idx:05d}.JPEG'
            else:
                rel = f'ILSVRC2012_val_{idx + 1:08d}.JPEG'
            imwrite(osp.join(root, split, rel), img)
            lines.append(f'{rel} {label}')
        out[split] = osp.join(root, 'meta', f'{split}.txt')
        with open(out[split], 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return out
