"""Sample inputs for the analysis / deployment tools: images or smooth random ones,
normalised as the model expects.

The official ACON checkpoints were trained on BGR pixels in 0-255 without mean/std
normalisation, so that is the default when no config names a ``data_preprocessor``.
"""
from __future__ import annotations

import os.path as osp

import numpy as np
import torch

# The official ACON checkpoints: BGR, 0-255, no normalisation.
OFFICIAL_MEAN = (0., 0., 0.)
OFFICIAL_STD = (1., 1., 1.)


def preprocess_cfg(cfg) -> tuple[tuple, tuple, bool]:
    """(mean, std, bgr_to_rgb) from a config's data_preprocessor, else the official ones."""
    dp = None if cfg is None else cfg.model.get('data_preprocessor', None)
    if not dp:
        return OFFICIAL_MEAN, OFFICIAL_STD, False
    return (tuple(dp.get('mean') or OFFICIAL_MEAN), tuple(dp.get('std') or OFFICIAL_STD),
            bool(dp.get('bgr_to_rgb', dp.get('to_rgb', False))))


def load_images(paths: list[str] | None, num_random: int, shape: tuple[int, int],
                mean, std, bgr_to_rgb: bool, seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """Read (BGR, 0-255) images resized to ``shape`` (H, W), or make random ones; normalise."""
    imgs, names = [], []
    h, w = shape
    if paths:
        import mmcv
        for path in paths:
            if not osp.isfile(path):
                raise FileNotFoundError(f'image not found: {path}')
            img = mmcv.imread(path)  # BGR uint8
            if img is None:
                raise ValueError(f'cannot read image {path}')
            imgs.append(mmcv.imresize(img, (w, h)).astype(np.float32))
            names.append(osp.basename(path))
    else:
        rng = np.random.default_rng(seed)
        for i in range(num_random):
            # Smooth random images (a low-resolution noise upsampled), not pure noise.
            low = rng.uniform(0, 255, size=(max(h // 8, 1), max(w // 8, 1), 3))
            img = np.kron(low, np.ones((8, 8, 1)))[:h, :w]
            img = np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1]), (0, 0)), 'edge')
            imgs.append(img.astype(np.float32))
            names.append(f'random{i}')
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    if bgr_to_rgb:
        x = x.flip(1)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x, names
