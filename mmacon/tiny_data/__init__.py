"""Deterministic tiny data sets in upstream on-disk formats: one module a set
(:mod:`.coco`, :mod:`.ade20k`, :mod:`.cityscapes`, :mod:`.imagenet`), what they share
in :mod:`.common`, all four at once in :mod:`.all_sets`."""
from .ade20k import make_tiny_ade20k
from .all_sets import make_tiny_datasets
from .cityscapes import CITYSCAPES_IGNORE, make_tiny_cityscapes
from .coco import COCO_CLASSES, make_tiny_coco, tiny_coco_classes
from .imagenet import make_tiny_imagenet, tiny_imagenet_classes

__all__ = ['make_tiny_coco', 'make_tiny_ade20k', 'make_tiny_cityscapes',
           'make_tiny_imagenet', 'make_tiny_datasets', 'tiny_coco_classes',
           'tiny_imagenet_classes', 'COCO_CLASSES', 'CITYSCAPES_IGNORE']
