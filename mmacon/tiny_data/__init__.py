"""Deterministic tiny data sets in upstream on-disk formats (COCO, ADE20K, Cityscapes,
ImageNet)."""
from .imagenet import make_tiny_imagenet, tiny_imagenet_classes
from .tiny import (CITYSCAPES_IGNORE, COCO_CLASSES, make_tiny_ade20k, make_tiny_cityscapes,
                   make_tiny_coco, make_tiny_datasets, tiny_coco_classes)

__all__ = ['make_tiny_coco', 'make_tiny_ade20k', 'make_tiny_cityscapes',
           'make_tiny_imagenet', 'make_tiny_datasets', 'tiny_coco_classes',
           'tiny_imagenet_classes', 'COCO_CLASSES', 'CITYSCAPES_IGNORE']
