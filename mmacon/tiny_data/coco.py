"""A deterministic tiny COCO-format detection / instance segmentation set.

:func:`make_tiny_coco` -> ``{root}/{train,val}2017/*.jpg`` and
``{root}/annotations/instances_{train,val}2017.json`` (bbox ``[x, y, w, h]``, area,
iscrowd 0, polygon segmentation), loadable by mmdet's ``CocoDataset``.

Each image is a textured background with a few filled, coloured shapes; a class is a
(shape, colour) pair (:data:`~mmacon.tiny_data.common.CLASSES`), so a small network
learns it in a few hundred iterations. The same seed gives byte-identical files.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, Tuple

import numpy as np

from .common import (CLASSES, DATASET_KEYS, SPLIT_KEYS, check_classes, check_counts,
                     draw_objects, imwrite, make_rng, object_classes, polygon_mask, reset_dir,
                     textured_background)

# (name, shape, BGR colour) of the tiny COCO set's categories, ids 1..K in this order
COCO_CLASSES = CLASSES


def tiny_coco_classes(num_classes: int = 3) -> Tuple[str, ...]:
    """Class names of :func:`make_tiny_coco` (use as ``metainfo.classes``)."""
    check_classes(num_classes, len(CLASSES))
    return tuple(name for name, _, _ in CLASSES[:num_classes])


def make_tiny_coco(root: str, num_train: int = 96, num_val: int = 24,
                   img_size: Tuple[int, int] = (160, 128), num_classes: int = 3,
                   max_objects: int = 3, size_range: Tuple[int, int] = (22, 56),
                   seed: int = 0) -> Dict[str, str]:
    """Write a tiny COCO-format detection / instance segmentation set to ``root``.

    Args:
        root: output directory (replaced if it exists).
        num_train, num_val: number of images in ``train2017`` / ``val2017``.
        img_size: (width, height) of every image.
        num_classes: categories used, from :data:`CLASSES` (ids 1..K).
        max_objects: each image holds 1..max_objects non-overlapping shapes.
        size_range: object size range in pixels.
        seed: everything is a function of this seed.

    Returns:
        dict of split -> annotation file path.
    """
    check_counts(num_train, num_val)
    classes = object_classes(num_classes)
    width, height = img_size
    reset_dir(root)
    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, (name, _, _) in enumerate(CLASSES[:num_classes])]
    out = {}
    ann_id = 1
    for split, num in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for idx in range(num):
            rng = make_rng(seed, DATASET_KEYS['coco'], SPLIT_KEYS[split], idx)
            img = textured_background(rng, height, width)
            count = int(rng.integers(1, max_objects + 1))
            drawn = draw_objects(rng, img, None, classes, count, size_range)
            image_id = idx + 1 + (0 if split == 'train' else 100000)
            file_name = f'{image_id:012d}.jpg'
            imwrite(osp.join(root, f'{split}2017', file_name),
                    np.round(img).astype(np.uint8))
            images.append(dict(id=image_id, file_name=file_name, width=width,
                               height=height, license=1))
            for obj in drawn:
                poly = obj['polygon']
                mask = polygon_mask(poly, height, width)
                ys, xs = np.nonzero(mask)
                x0, y0 = int(xs.min()), int(ys.min())
                bbox = [float(x0), float(y0), float(xs.max() - x0 + 1),
                        float(ys.max() - y0 + 1)]
                annotations.append(dict(
                    id=ann_id, image_id=image_id, category_id=int(obj['class_id']),
                    bbox=bbox, area=float(mask.sum()), iscrowd=0,
                    segmentation=[[float(v) for v in poly.reshape(-1)]]))
                ann_id += 1
        ann = dict(
            info=dict(description=f'mmacon tiny COCO ({split}), seed {seed}',
                      version='1.0', year=2017),
            licenses=[dict(id=1, name='CC0', url='')],
            images=images, annotations=annotations, categories=categories)
        path = osp.join(root, 'annotations', f'instances_{split}2017.json')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(ann, f, sort_keys=True)
        out[split] = path
    return out
