"""Drawing primitives shared by the tiny data-set generators.

Every object is a filled polygon: the same integer vertices are rasterised into
the image (``cv2.fillPoly``) and into the label map / instance mask, so labels
match the drawn pixels exactly.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

SHAPES = ('square', 'circle', 'triangle', 'diamond', 'ellipse')


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
