"""Deterministic tiny data sets in the exact on-disk formats of COCO, ADE20K and
Cityscapes, for smoke tests and the CPU demo.

Each image is a textured background with a few filled, coloured shapes; a
class is a (shape, colour) pair, so a small network learns it in a few hundred
iterations. The same seed always produces byte-identical files.

* :func:`make_tiny_coco` -> ``{root}/{train,val}2017/*.jpg`` and
  ``{root}/annotations/instances_{train,val}2017.json`` (bbox ``[x, y, w, h]``,
  area, iscrowd 0, polygon segmentation), loadable by mmdet's ``CocoDataset``.
* :func:`make_tiny_ade20k` -> ``{root}/images/{training,validation}/*.jpg`` and
  ``{root}/annotations/{training,validation}/*.png``; 0 is background (ignored
  with ``reduce_zero_label=True``), objects are 1..K, as ADE20K.
* :func:`make_tiny_cityscapes` -> ``{root}/leftImg8bit/{train,val}/<city>/
  <city>_<seq>_<frame>_leftImg8bit.png`` and ``{root}/gtFine/{train,val}/<city>/
  <city>_<seq>_<frame>_gtFine_labelTrainIds.png`` (train ids 0..18, 255 ignore).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ._shapes import (fill, jitter_colour, make_rng, place_boxes, polygon_mask,
                      shape_polygon, textured_background)

# class name -> (shape, BGR colour)
COCO_CLASSES: Tuple[Tuple[str, str, Tuple[int, int, int]], ...] = (
    ('square', 'square', (40, 40, 220)),
    ('circle', 'circle', (40, 200, 40)),
    ('triangle', 'triangle', (220, 80, 30)),
    ('diamond', 'diamond', (30, 210, 230)),
    ('ellipse', 'ellipse', (200, 40, 200)),
)
ADE20K_SHAPES = COCO_CLASSES

# Cityscapes train ids used by the tiny scenes.
CITYSCAPES_ROAD, CITYSCAPES_BUILDING, CITYSCAPES_SIGN = 0, 2, 7
CITYSCAPES_SKY, CITYSCAPES_PERSON, CITYSCAPES_CAR = 10, 11, 13
CITYSCAPES_IGNORE = 255
# train id -> (shape, BGR colour) for the objects
CITYSCAPES_OBJECTS = {
    CITYSCAPES_CAR: ('square', (150, 30, 20)),
    CITYSCAPES_PERSON: ('diamond', (50, 30, 220)),
    CITYSCAPES_SIGN: ('circle', (20, 220, 230)),
}
CITYSCAPES_CITIES = {'train': ('aachen', 'bochum'), 'val': ('frankfurt', )}

_SPLIT_KEYS = {'train': 0, 'val': 1}
JPEG_QUALITY = 95


def _reset_dir(path: str) -> None:
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def _imwrite(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.endswith('.jpg') else []
    if not cv2.imwrite(path, img, params):
        raise OSError(f'could not write {path}')


def _check_counts(num_train: int, num_val: int) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'need at least one image per split, got train={num_train}, '
                         f'val={num_val}')


def _check_classes(num_classes: int, available: int) -> None:
    if not 1 <= num_classes <= available:
        raise ValueError(f'num_classes must be in [1, {available}], got {num_classes}')


def _draw_objects(rng: np.random.Generator, img: np.ndarray, label: np.ndarray,
                  classes: Sequence[Tuple[int, str, Tuple[int, int, int]]],
                  count: int, size_range: Tuple[int, int], region=None) -> List[dict]:
    """Draw ``count`` shapes of random classes; write their ids into ``label``."""
    h, w = img.shape[:2]
    drawn = []
    for cx, cy, size in place_boxes(rng, h, w, count, size_range, region=region):
        cls_id, shape, colour = classes[int(rng.integers(len(classes)))]
        poly = shape_polygon(shape, cx, cy, size, rng)
        fill(img, poly, jitter_colour(rng, colour))
        if label is not None:
            fill(label, poly, int(cls_id))
        drawn.append(dict(class_id=cls_id, polygon=poly))
    return drawn


def tiny_coco_classes(num_classes: int = 3) -> Tuple[str, ...]:
    """Class names of :func:`make_tiny_coco` (use as ``metainfo.classes``)."""
    _check_classes(num_classes, len(COCO_CLASSES))
    return tuple(name for name, _, _ in COCO_CLASSES[:num_classes])


def make_tiny_coco(root: str, num_train: int = 96, num_val: int = 24,
                   img_size: Tuple[int, int] = (160, 128), num_classes: int = 3,
                   max_objects: int = 3, size_range: Tuple[int, int] = (22, 56),
                   seed: int = 0) -> Dict[str, str]:
    """Write a tiny COCO-format detection / instance segmentation set to ``root``.

    Args:
        root: output directory (replaced if it exists).
        num_train, num_val: number of images in ``train2017`` / ``val2017``.
        img_size: (width, height) of every image.
        num_classes: categories used, from :data:`COCO_CLASSES` (ids 1..K).
        max_objects: each image holds 1..max_objects non-overlapping shapes.
        size_range: object size range in pixels.
        seed: everything is a function of this seed.

    Returns:
        dict of split -> annotation file path.
    """
    _check_counts(num_train, num_val)
    _check_classes(num_classes, len(COCO_CLASSES))
    width, height = img_size
    _reset_dir(root)
    classes = [(i + 1, shape, colour)
               for i, (_, shape, colour) in enumerate(COCO_CLASSES[:num_classes])]
    categories = [dict(id=i + 1, name=name, supercategory='shape')
                  for i, (name, _, _) in enumerate(COCO_CLASSES[:num_classes])]
    out = {}
    ann_id = 1
    for split, num in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        for idx in range(num):
            rng = make_rng(seed, 0, _SPLIT_KEYS[split], idx)
            img = textured_background(rng, height, width)
            count = int(rng.integers(1, max_objects + 1))
            drawn = _draw_objects(rng, img, None, classes, count, size_range)
            image_id = idx + 1 + (0 if split == 'train' else 100000)
            file_name = f'{image_id:012d}.jpg'
            _imwrite(osp.join(root, f'{split}2017', file_name),
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
    _check_counts(num_train, num_val)
    _check_classes(num_classes, len(ADE20K_SHAPES))
    width, height = img_size
    _reset_dir(root)
    classes = [(i + 1, shape, colour)
               for i, (_, shape, colour) in enumerate(ADE20K_SHAPES[:num_classes])]
    out = {}
    for split, num in (('train', num_train), ('val', num_val)):
        folder = 'training' if split == 'train' else 'validation'
        for idx in range(num):
            rng = make_rng(seed, 1, _SPLIT_KEYS[split], idx)
            img = textured_background(rng, height, width)
            label = np.zeros((height, width), np.uint8)
            count = int(rng.integers(1, max_objects + 1))
            _draw_objects(rng, img, label, classes, count, size_range)
            name = f'ADE_{folder[:5] if split == "train" else "val"}_{idx + 1:08d}'
            _imwrite(osp.join(root, 'images', folder, name + '.jpg'),
                     np.round(img).astype(np.uint8))
            _imwrite(osp.join(root, 'annotations', folder, name + '.png'), label)
        out[split] = osp.join(root, 'images', folder)
    return out


def _cityscapes_scene(rng: np.random.Generator, height: int, width: int,
                      max_objects: int, size_range: Tuple[int, int]):
    horizon = int(height * rng.uniform(0.25, 0.35))
    road_top = int(height * rng.uniform(0.55, 0.62))
    hood = int(height * rng.uniform(0.88, 0.93))
    label = np.full((height, width), CITYSCAPES_ROAD, np.uint8)
    label[:horizon] = CITYSCAPES_SKY
    label[horizon:road_top] = CITYSCAPES_BUILDING
    label[hood:] = CITYSCAPES_IGNORE
    img = np.empty((height, width, 3), np.float32)
    img[:horizon] = textured_background(rng, horizon, width, base=(225, 190, 150),
                                        amplitude=6)
    img[horizon:road_top] = textured_background(rng, road_top - horizon, width,
                                                base=(110, 120, 130), amplitude=25)
    img[road_top:] = textured_background(rng, height - road_top, width,
                                         base=(120, 80, 110), amplitude=8)
    img[hood:] = textured_background(rng, height - hood, width, base=(25, 25, 25),
                                     amplitude=4)
    # cars and people stand on the road, signs hang in front of the buildings
    on_road = [(k, *CITYSCAPES_OBJECTS[k]) for k in (CITYSCAPES_CAR, CITYSCAPES_PERSON)]
    signs = [(CITYSCAPES_SIGN, *CITYSCAPES_OBJECTS[CITYSCAPES_SIGN])]
    count = int(rng.integers(1, max_objects + 1))
    _draw_objects(rng, img, label, on_road, count, size_range,
                  region=(0, road_top - size_range[0] // 2, width, hood))
    sign_size = (max(8, size_range[0] // 2), max(10, size_range[1] // 2))
    _draw_objects(rng, img, label, signs, int(rng.integers(0, 3)), sign_size,
                  region=(0, horizon, width, road_top))
    return np.round(img).astype(np.uint8), label


def make_tiny_cityscapes(root: str, num_train: int = 64, num_val: int = 16,
                         img_size: Tuple[int, int] = (256, 128), max_objects: int = 4,
                         size_range: Tuple[int, int] = (16, 40),
                         seed: int = 0) -> Dict[str, str]:
    """Write a tiny Cityscapes-format set (``labelTrainIds``) to ``root``.

    Scenes: sky (10) / building (2) / road (0) bands, cars (13) and people (11)
    on the road, traffic signs (7) in front of the buildings, and an ego-vehicle
    hood at the bottom labelled 255 (ignore), as in Cityscapes.

    Returns:
        dict of split -> image directory.
    """
    _check_counts(num_train, num_val)
    width, height = img_size
    _reset_dir(root)
    out = {}
    for split, num in (('train', num_train), ('val', num_val)):
        cities = CITYSCAPES_CITIES[split]
        for idx in range(num):
            rng = make_rng(seed, 2, _SPLIT_KEYS[split], idx)
            img, label = _cityscapes_scene(rng, height, width, max_objects, size_range)
            city = cities[idx % len(cities)]
            stem = f'{city}_{idx // len(cities):06d}_{19:06d}'
            _imwrite(osp.join(root, 'leftImg8bit', split, city,
                              stem + '_leftImg8bit.png'), img)
            _imwrite(osp.join(root, 'gtFine', split, city,
                              stem + '_gtFine_labelTrainIds.png'), label)
        out[split] = osp.join(root, 'leftImg8bit', split)
    return out


def make_tiny_datasets(out_dir: str = 'data', seed: int = 0) -> Dict[str, str]:
    """All four sets under ``out_dir``: ``tiny_coco``, ``tiny_ade20k``,
    ``tiny_cityscapes`` and ``tiny_imagenet``."""
    from .imagenet import make_tiny_imagenet  # imagenet.py imports this module
    roots = dict(coco=osp.join(out_dir, 'tiny_coco'),
                 ade20k=osp.join(out_dir, 'tiny_ade20k'),
                 cityscapes=osp.join(out_dir, 'tiny_cityscapes'),
                 imagenet=osp.join(out_dir, 'tiny_imagenet'))
    make_tiny_coco(roots['coco'], seed=seed)
    make_tiny_ade20k(roots['ade20k'], seed=seed)
    make_tiny_cityscapes(roots['cityscapes'], seed=seed)
    make_tiny_imagenet(roots['imagenet'], seed=seed)
    return roots
