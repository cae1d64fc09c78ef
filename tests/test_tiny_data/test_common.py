"""What the tiny sets share: random streams, drawing, checks, file writing."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmacon.tiny_data.common import (CLASSES, DATASET_KEYS, SHAPES, check_classes,
                                     check_counts, draw_objects, imwrite, make_rng,
                                     object_classes, place_boxes, polygon_mask, reset_dir,
                                     shape_polygon)


def test_random_streams_depend_on_seed_and_keys_only():
    a = make_rng(0, 1, 2).integers(1 << 30, size=4)
    assert (a == make_rng(0, 1, 2).integers(1 << 30, size=4)).all()
    assert (a != make_rng(0, 1, 3).integers(1 << 30, size=4)).any()
    assert (a != make_rng(1, 1, 2).integers(1 << 30, size=4)).any()
    assert len(set(DATASET_KEYS.values())) == len(DATASET_KEYS) == 4


@pytest.mark.parametrize('kind', SHAPES)
def test_polygon_mask_is_the_drawn_shape(kind):
    poly = shape_polygon(kind, 32.0, 32.0, 30.0, make_rng(0))
    assert poly.dtype == np.int32 and poly.shape[1] == 2
    mask = polygon_mask(poly, 64, 64)
    ys, xs = np.nonzero(mask)
    # centred on (32, 32), about `size` across (a square's aspect is 0.8..1.25), filled
    assert abs(xs.mean() - 32) < 4 and abs(ys.mean() - 32) < 6
    assert xs.max() - xs.min() <= 30 * 1.25 ** 0.5 + 1 and ys.max() - ys.min() <= 34
    assert mask.sum() > 0.25 * 30 * 30 * (0.5 if kind == 'ellipse' else 1)


def test_unknown_shape_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown shape 'hexagon', valid: "):
        shape_polygon('hexagon', 0, 0, 10, make_rng(0))


def test_boxes_do_not_overlap_and_stay_in_region():
    boxes = place_boxes(make_rng(0), 100, 100, 6, (10, 20), region=(10, 20, 90, 80))
    assert len(boxes) >= 3
    for i, (cx, cy, s) in enumerate(boxes):
        assert 10 <= cx - s / 2 and cx + s / 2 <= 90 and 20 <= cy - s / 2 and cy + s / 2 <= 80
        for px, py, ps in boxes[:i]:
            assert abs(cx - px) > (s + ps) / 2 or abs(cy - py) > (s + ps) / 2


def test_draw_objects_labels_what_it_draws():
    img = np.zeros((64, 64, 3), np.float32)
    label = np.zeros((64, 64), np.uint8)
    classes = [(i + 1, shape, colour) for i, (_, shape, colour) in enumerate(CLASSES)]
    drawn = draw_objects(make_rng(0), img, label, classes, 2, (12, 20))
    assert len(drawn) >= 1
    for obj in drawn:
        mask = polygon_mask(obj['polygon'], 64, 64)
        assert (label[mask] == obj['class_id']).all()
        assert (img[mask].sum(-1) > 0).all()
    assert set(np.unique(label)) <= {0} | {o['class_id'] for o in drawn}


def test_checks_name_the_bad_value():
    with pytest.raises(ValueError, match='train=0, val=2'):
        check_counts(0, 2)
    with pytest.raises(ValueError, match=r'num_classes must be in \[1, 5\], got 6'):
        check_classes(6, 5)
    check_counts(1, 1)
    check_classes(5, 5)


def test_object_classes_label_the_first_classes_from_one():
    assert object_classes(2) == [(1, CLASSES[0][1], CLASSES[0][2]),
                                 (2, CLASSES[1][1], CLASSES[1][2])]
    assert [label for label, _, _ in object_classes(len(CLASSES))] == list(
        range(1, len(CLASSES) + 1))
    with pytest.raises(ValueError, match=rf'num_classes must be in \[1, {len(CLASSES)}\], got 0'):
        object_classes(0)


def test_imwrite_jpeg_and_png_and_reset_dir(tmp_path):
    img = (np.arange(16 * 16 * 3) % 256).astype(np.uint8).reshape(16, 16, 3)
    png = str(tmp_path / 'a' / 'x.png')
    imwrite(png, img)
    assert (cv2.imread(png) == img).all()  # lossless
    for name in ('y.jpg', 'z.JPEG'):
        imwrite(str(tmp_path / 'a' / name), img)
        with open(tmp_path / 'a' / name, 'rb') as f:
            assert f.read(2) == b'\xff\xd8'  # a JPEG, whatever the case of its suffix
    reset_dir(str(tmp_path / 'a'))
    assert osp.isdir(tmp_path / 'a') and not list((tmp_path / 'a').iterdir())
