# Copyright (c) mmacon contributors. All rights reserved.
"""Generate the deterministic tiny COCO / ADE20K / Cityscapes / ImageNet sets (seconds).

    python tools/misc/make_tiny_datasets.py --out data/

writes ``data/tiny_coco``, ``data/tiny_ade20k``, ``data/tiny_cityscapes`` and
``data/tiny_imagenet`` in
the upstream on-disk formats, the data roots the ``configs/tiny`` configs use.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmacon.tiny_data import (make_tiny_ade20k, make_tiny_cityscapes,  # noqa: E402
                              make_tiny_coco, make_tiny_imagenet)

MAKERS = dict(coco=make_tiny_coco, ade20k=make_tiny_ade20k,
              cityscapes=make_tiny_cityscapes, imagenet=make_tiny_imagenet)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Generate tiny data sets')
    parser.add_argument('--out', default='data', help='parent directory (default: data)')
    parser.add_argument('--sets', nargs='+', choices=sorted(MAKERS), default=sorted(MAKERS),
                        help='which sets to generate (default: all)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=None,
                        help='images per training split (default: per-set default)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='images per validation split (default: per-set default)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for name in args.sets:
        kwargs = dict(seed=args.seed)
        if args.num_train is not None:
            kwargs['num_train'] = args.num_train
        if args.num_val is not None:
            kwargs['num_val'] = args.num_val
        root = osp.join(args.out, f'tiny_{name}')
        start = time.time()
        MAKERS[name](root, **kwargs)
        print(f'tiny_{name}: {root} ({time.time() - start:.1f}s)')


if __name__ == '__main__':
    main()
