"""mmacon.utils.sample_inputs: images / random images normalised as the model expects."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmacon.utils.sample_inputs import OFFICIAL_MEAN, OFFICIAL_STD, load_images, preprocess_cfg


def test_preprocess_cfg():
    assert preprocess_cfg(None) == (OFFICIAL_MEAN, OFFICIAL_STD, False)
    cfg = Config(dict(model=dict(data_preprocessor=dict(mean=[1, 2, 3], std=[4, 5, 6],
                                                        bgr_to_rgb=True))))
    assert preprocess_cfg(cfg) == ((1, 2, 3), (4, 5, 6), True)


def test_load_images_reads_bgr_and_normalises(tmp_path):
    import mmcv
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0], img[..., 2] = 10, 200  # B = 10, R = 200
    path = str(tmp_path / 'a.png')
    mmcv.imwrite(img, path)
    x, names = load_images([path], 0, (8, 8), (0., 0., 0.), (1., 1., 1.), False)
    assert names == ['a.png'] and x.shape == (1, 3, 8, 8)
    assert torch.all(x[0, 0] == 10) and torch.all(x[0, 2] == 200)
    x, _ = load_images([path], 0, (8, 8), (100., 0., 0.), (2., 1., 1.), True)
    assert torch.all(x[0, 0] == 50) and torch.all(x[0, 2] == 10)  # RGB, then (x - m) / s
    with pytest.raises(FileNotFoundError, match='image not found'):
        load_images([str(tmp_path / 'none.png')], 0, (8, 8), OFFICIAL_MEAN, OFFICIAL_STD, False)


def test_random_images_are_seeded():
    a, names = load_images(None, 2, (16, 24), OFFICIAL_MEAN, OFFICIAL_STD, False, seed=3)
    b, _ = load_images(None, 2, (16, 24), OFFICIAL_MEAN, OFFICIAL_STD, False, seed=3)
    assert names == ['random0', 'random1'] and a.shape == (2, 3, 16, 24)
    assert torch.equal(a, b) and 0 <= a.min() and a.max() <= 255
