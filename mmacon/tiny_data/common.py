"""What the tiny data-set generators share: the class palette, random streams,
drawing primitives, argument checks and file writing.

Every object is a filled polygon: the same integer vertices are rasterised into
the image (``cv2.fillPoly``) and into the label map / instance mask, so labels
match the drawn pixels exactly.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import os
import os.path as osp
import shutil

import cv2
import numpy as np

SHAPES = ('square', 'circle', 'triangle', 'diamond', 'ellipse')

# class name -> (shape, BGR colour): the classes of the COCO and ADE20K sets, and the
# palette the ImageNet set draws its colours from
CLASSES: Tuple[Tuple[str, str, Tuple[int, int, int]], ...] = (
    ('square', 'square', (40, 40, 220)),
    ('circle', 'circle', (40, 200, 40)),
    ('triangle', 'triangle', (220, 80, 30)),
    ('diamond', 'diamond', (30, 210, 230)),
    ('ellipse', 'ellipse', (200, 40, 200)),
)
# the first random-stream key of each set keeps their streams apart
DATASET_KEYS = dict(coco=0, ade20k=1, cityscapes=2, imagenet=3)
SPLIT_KEYS = {'train': 0, 'val': 1}
JPEG_QUALITY = 95


def reset_dir(path: str) -> None:
    """Make ``path`` an empty directory (removing what was there)."""
    if osp.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def imwrite(path: str, img: np.ndarray) -> None:
    """Write ``img`` (JPEG at :data:`JPEG_QUALITY` for .jpg/.JPEG, else lossless)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    is_jpeg = path.lower().endswith(('.jpg', '.jpeg'))
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if is_jpeg else []
    if not cv2.imwrite(path, img, params):
        raise OSError(f'could not write {path}')


def check_counts(num_train: int, num_val: int) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'need at least one image per split, got train={num_train}, '
                         f'val={num_val}')


def check_classes(num_classes: int, available: int) -> None:
    if not 1 <= num_classes <= available:
        raise ValueError(f'num_classes must be in [1, {available}], got {num_classes}')


def object_classes(num_classes: int) -> List[Tuple[int, str, Tuple[int, int, int]]]:
    """(label, shape, colour) of the first ``num_classes`` :data:`CLASSES`, labels from 1
    (0 is the background), as :func:`draw_objects` takes them; ValueError if there are
    not that many."""
    check_classes(num_classes, len(CLASSES))
    return [(i + 1, shape, colour) for i, (_, shape, colour) in enumerate(CLASSES[:num_classes])]


def make_rng(seed: int, *keys: int) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the integer ``keys``."""
    return np.random.default_rng([int(seed)] + [int(k) for k in keys])


def textured_background(rng: np.random.Generator, height: int, width: int,
                        base: Optional[Sequence[float]] = None,
                        amplitude: float = 18.0) -> np.ndarray:
    """A low-contrast BGR texture: base colour + oriented stripes + noise."""
    if base is None:
        base = rng.uniform(90, 170, size=3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    freq = rng.uniform(0.08, 0.35)
    stripes = np.sin(freq * (np.cos(theta) * xx + np.sin(theta) * yy) +
                     rng.uniform(0, 2 * np.pi))
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = base[c] + amplitude * stripes * rng.uniform(0.5, 1.0)
    img += rng.normal(0, 6.0, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


def shape_polygon(kind: str, cx: float, cy: float, size: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Integer (N, 2) polygon (x, y) of a shape centred at (cx, cy), ``size`` across."""
    r = size / 2.0
    if kind == 'square':
        aspect = rng.uniform(0.8, 1.25)
        hw, hh = r * np.sqrt(aspect), r / np.sqrt(aspect)
        pts = [(cx - hw, cy - hh), (cx + hw, cy - hh), (cx + hw, cy + hh),
               (cx - hw, cy + hh)]
    elif kind in ('circle', 'ellipse'):
        ry = r if kind == 'circle' else r * rng.uniform(0.45, 0.6)
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([cx + r * np.cos(t), cy + ry * np.sin(t)], 1)
    elif kind == 'triangle':
        pts = [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)]
    elif kind == 'diamond':
        pts = [(cx, cy - r), (cx + r * 0.75, cy), (cx, cy + r), (cx - r * 0.75, cy)]
    else:
        raise ValueError(f'unknown shape {kind!r}, valid: {SHAPES}')
    return np.round(np.asarray(pts, np.float64)).astype(np.int32)


def fill(canvas: np.ndarray, poly: np.ndarray, value) -> None:
    cv2.fillPoly(canvas, [poly.reshape(-1, 1, 2)], value)


def polygon_mask(poly: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    fill(mask, poly, 1)
    return mask.astype(bool)


def jitter_colour(rng: np.random.Generator, colour: Sequence[int],
                  amount: int = 20) -> Tuple[int, int, int]:
    c = np.asarray(colour, np.int32) + rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def place_boxes(rng: np.random.Generator, height: int, width: int, count: int,
                size_range: Tuple[int, int], margin: int = 2,
                region: Optional[Tuple[int, int, int, int]] = None,
                tries: int = 50) -> List[Tuple[float, float, float]]:
    """Sample up to ``count`` non-overlapping (cx, cy, size) squares.

    ``region`` (x0, y0, x1, y1) bounds the squares; default the whole image.
    """
    x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
    placed: List[Tuple[float, float, float]] = []
    for _ in range(count):
        for _ in range(tries):
            size = float(rng.integers(size_range[0], size_range[1] + 1))
            half = size / 2 + margin
            if x1 - x0 < 2 * half or y1 - y0 < 2 * half:
                continue
            cx = float(rng.uniform(x0 + half, x1 - half))
            cy = float(rng.uniform(y0 + half, y1 - half))
            if all(abs(cx - px) > (size + ps) / 2 + margin or
                   abs(cy - py) > (size + ps) / 2 + margin
                   for px, py, ps in placed):
                placed.append((cx, cy, size))
                break
    return placed


def draw_objects(rng: np.random.Generator, img: np.ndarray, label: Optional[np.ndarray],
                 classes: Sequence[Tuple[int, str, Tuple[int, int, int]]],
                 count: int, size_range: Tuple[int, int], region=None) -> List[dict]:
    """Draw ``count`` shapes of random ``(class_id, shape, colour)`` classes into ``img``;
    write their ids into ``label`` (if given). Returns ``[dict(class_id, polygon)]``."""
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
