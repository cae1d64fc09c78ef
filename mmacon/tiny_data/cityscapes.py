"""A deterministic tiny Cityscapes-format semantic segmentation set (``labelTrainIds``).

:func:`make_tiny_cityscapes` -> ``{root}/leftImg8bit/{train,val}/<city>/
<city>_<seq>_<frame>_leftImg8bit.png`` and ``{root}/gtFine/{train,val}/<city>/
<city>_<seq>_<frame>_gtFine_labelTrainIds.png`` (train ids 0..18, 255 ignore).
The same seed gives byte-identical files.
"""
from __future__ import annotations

import os.path as osp
from typing import Dict, Tuple

import numpy as np

from .common import (DATASET_KEYS, SPLIT_KEYS, check_counts, draw_objects, imwrite,
                     make_rng, reset_dir, textured_background)

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
    draw_objects(rng, img, label, on_road, count, size_range,
                 region=(0, road_top - size_range[0] // 2, width, hood))
    sign_size = (max(8, size_range[0] // 2), max(10, size_range[1] // 2))
    draw_objects(rng, img, label, signs, int(rng.integers(0, 3)), sign_size,
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
    check_counts(num_train, num_val)
    width, height = img_size
    reset_dir(root)
    out = {}
    for split, num in (('train', num_train), ('val', num_val)):
        cities = CITYSCAPES_CITIES[split]
        for idx in range(num):
            rng = make_rng(seed, DATASET_KEYS['cityscapes'], SPLIT_KEYS[split], idx)
            img, label = _cityscapes_scene(rng, height, width, max_objects, size_range)
            city = cities[idx % len(cities)]
            stem = f'{city}_{idx // len(cities):06d}_{19:06d}'
            imwrite(osp.join(root, 'leftImg8bit', split, city,
                             stem + '_leftImg8bit.png'), img)
            imwrite(osp.join(root, 'gtFine', split, city,
                             stem + '_gtFine_labelTrainIds.png'), label)
        out[split] = osp.join(root, 'leftImg8bit', split)
    return out
