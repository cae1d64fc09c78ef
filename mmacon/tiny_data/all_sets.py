"""All four tiny sets at once (what ``tools/misc/make_tiny_datasets.py`` writes)."""
from __future__ import annotations

import os.path as osp
from typing import Dict

from .ade20k import make_tiny_ade20k
from .cityscapes import make_tiny_cityscapes
from .coco import make_tiny_coco
from .imagenet import make_tiny_imagenet


def make_tiny_datasets(out_dir: str = 'data', seed: int = 0) -> Dict[str, str]:
    """All four sets under ``out_dir``: ``tiny_coco``, ``tiny_ade20k``,
    ``tiny_cityscapes`` and ``tiny_imagenet``."""
    roots = dict(coco=osp.join(out_dir, 'tiny_coco'),
                 ade20k=osp.join(out_dir, 'tiny_ade20k'),
                 cityscapes=osp.join(out_dir, 'tiny_cityscapes'),
                 imagenet=osp.join(out_dir, 'tiny_imagenet'))
    make_tiny_coco(roots['coco'], seed=seed)
    make_tiny_ade20k(roots['ade20k'], seed=seed)
    make_tiny_cityscapes(roots['cityscapes'], seed=seed)
    make_tiny_imagenet(roots['imagenet'], seed=seed)
    return roots
