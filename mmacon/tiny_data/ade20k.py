"""A deterministic tiny ADE20K-format semantic segmentation set.

:func:`make_tiny_ade20k` -> ``{root}/images/{training,validation}/*.jpg`` and
``{root}/annotations/{training,validation}/*.png``; 0 is background (ignored with
``reduce_zero_label=True``), objects are 1..K, as ADE20K. Classes are the (shape,
colour) pairs of :data:`~mmacon.tiny_data.common.CLASSES`; the same seed gives
byte-identical files.
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, Tuple

import numpy as np

from .common import (DATASET_KEYS, SPLIT_KEYS, check_counts, draw_objects, imwrite, make_rng,
                     object_classes, reset_dir, textured_background)


def make_tiny_ade20k(root: str, num_train: int = 64, num_val: int = 16,
                     img_size: Tuple[int, int] = (128, 128), num_classes: int = 4,
                     max_objects: int = 4, size_range: Tuple[int, int] = (18, 56),
                     seed: int = 0) -> Dict[str, str]:
    """Write a tiny ADE20K-format semantic segmentation set to ``root``.

    Labels: 0 = background (ignored under ``reduce_zero_label``), objects
    1..``num_classes`` (0..K-1 after reduction, i.e. the first K ADE20K classes).

    Returns:
        dict of split -> image directory.
    """
    check_counts(num_train, num_val)
    classes = object_classes(num_classes)
    width, height = img_size
    reset_dir(root)
    out = {}
    for split, num in (('train', num_train), ('val', num_val)):
        folder = 'training' if split == 'train' else 'validation'
        for idx in range(num):
            rng = make_rng(seed, DATASET_KEYS['ade20k'], SPLIT_KEYS[split], idx)
            img = textured_background(rng, height, width)
            label = np.zeros((height, width), np.uint8)
            count = int(rng.integers(1, max_objects + 1))
            draw_objects(rng, img, label, classes, count, size_range)
            name = f'ADE_{folder[:5] if split == "train" else "val"}_{idx + 1:08d}'
            imwrite(osp.join(root, 'images', folder, name + '.jpg'),
                    np.round(img).astype(np.uint8))
            imwrite(osp.join(root, 'annotations', folder, name + '.png'), label)
        out[split] = osp.join(root, 'images', folder)
    return out
