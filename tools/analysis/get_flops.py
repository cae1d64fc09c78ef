"""Parameters and FLOPs of mmacon backbones and config models (mmengine's counter).

Counts with mmengine's analysis module (``FlopAnalyzer`` and ``parameter_count``, what
``get_model_complexity_info`` uses, without its per-op warnings; fvcore-style: one
multiply-add = one FLOP; convolutions, linear layers and matmuls are counted; element-wise
ops such as ACON's sigmoid / mul and eval-mode BN are not, so ACON's extra cost shows up
only through the Meta-ACON generator's 1x1 convs). ``params`` counts every parameter of the measured
module (the whole detector / segmentor for a config).

Examples::

    python tools/analysis/get_flops.py configs/retinanet/retinanet_r50-metaacon_fpn_1x_coco.py \
        --shape 800 1333
    python tools/analysis/get_flops.py configs/            # every config under a folder
    python tools/analysis/get_flops.py --all-backbones      # the standard backbone variants
    python tools/analysis/get_flops.py --backbone-cfg "dict(type='AconResNet', depth=50)"

A config model is measured through ``model._forward`` (backbone + neck + head, without
post-processing), as mmdet's and mmseg's own get_flops tools do.
"""
from __future__ import annotations

import argparse
import glob
import os.path as osp
import sys
import time

import torch
from torch import nn

from mmacon.utils.model_loading import build_model, parse_cfg_literal

# The standard variants for --all-backbones. All three backbone types are part of mmacon:
# an unregistered one is an error (a broken import), never silently skipped.
STANDARD_BACKBONES = [
    (f'AconResNet-{depth} {act}', dict(type='AconResNet', depth=depth,
                                       act_cfg=None if act == 'ReLU' else dict(type=act)))
    for depth in (18, 34, 50, 101, 152) for act in ('ReLU', 'AconC', 'MetaAconC')
] + [
    (f'AconShuffleNetV2-{w}x {act}',
     dict(type='AconShuffleNetV2', widen_factor=w,
          act_cfg=dict(type='ReLU') if act == 'ReLU' else dict(type=act)))
    for w in (0.5, 1.0, 1.5, 2.0) for act in ('ReLU', 'MetaAconC')
] + [(f'TFNet-{w}', dict(type='TFNet', widen_factor=w)) for w in (0.5, 1.0, 1.5, 2.0)]


class TensorForward(nn.Module):
    """``forward(x)`` -> ``model._forward(x, data_samples)`` for a detector / segmentor."""

    def __init__(self, model: nn.Module, data_samples) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, x):
        return self.model._forward(x, self.data_samples)


def make_data_samples(model: nn.Module, batch: int, shape: tuple) -> list | None:
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape,
                scale_factor=(1., 1.), flip=False)
    module = type(model).__module__
    if module.startswith('mmdet'):
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta) for _ in range(batch)]
    if module.startswith('mmseg'):
        from mmseg.structures import SegDataSample
        return [SegDataSample(metainfo=meta) for _ in range(batch)]
    return None


def measure(model: nn.Module, shape: tuple, is_config: bool) -> dict:
    from mmengine.analysis import FlopAnalyzer, parameter_count
    model = model.eval()
    x = torch.rand(1, 3, *shape)
    if is_config and hasattr(model, '_forward'):
        model = TensorForward(model, make_data_samples(model, 1, shape)).eval()
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, inputs=(x, ))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        flops = analyzer.total()
    return dict(flops=flops, params=parameter_count(model)[''])


def _fmt(value: float) -> str:
    for unit, div in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if value >= div:
            return f'{value / div:.3f}{unit}'
    return str(int(value))


def collect_configs(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        if osp.isdir(path):
            out += sorted(p for p in glob.glob(osp.join(path, '**', '*.py'), recursive=True)
                          if '_base_' not in p.split(osp.sep))
        elif osp.isfile(path):
            out.append(path)
        else:
            raise FileNotFoundError(f'config not found: {path}')
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of mmacon models')
    parser.add_argument('configs', nargs='*', help='config files or folders of configs')
    parser.add_argument('--backbone-cfg', action='append', default=[],
                        help="a backbone, e.g. dict(type='AconResNet', depth=50); repeatable")
    parser.add_argument('--all-backbones', action='store_true',
                        help='every standard backbone variant (ResNet, ShuffleNetV2, TFNet)')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224],
                        help='input H W (one value: square; default 224 224)')
    args = parser.parse_args(argv)
    if not (args.configs or args.backbone_cfg or args.all_backbones):
        parser.error('give config paths, --backbone-cfg or --all-backbones')
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2:
        parser.error(f'--shape takes H W or one size, got {args.shape}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    shape = tuple(args.shape)
    jobs = []  # (label, config path or None, backbone cfg or None)
    try:
        jobs += [(p, p, None) for p in collect_configs(args.configs)]
        jobs += [(c, None, parse_cfg_literal(c)) for c in args.backbone_cfg]
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if args.all_backbones:
        import mmacon  # noqa: F401
        from mmengine.registry import MODELS
        missing = sorted({cfg['type'] for _, cfg in STANDARD_BACKBONES
                          if MODELS.get(cfg['type']) is None})
        if missing:
            print(f'error: backbone types not registered (is mmacon importable?): {missing}',
                  file=sys.stderr)
            return 1
        jobs += [(label, None, cfg) for label, cfg in STANDARD_BACKBONES]

    rows, failures = [], 0
    for label, config, backbone_cfg in jobs:
        start = time.time()
        try:
            model, _ = build_model(config, backbone_cfg)
            result = measure(model, shape, config is not None)
        except Exception as err:  # noqa: BLE001 - one bad entry must not stop the table
            failures += 1
            print(f'error: {label}: {type(err).__name__}: {err}', file=sys.stderr)
            rows.append((label, 'failed', '-', '-'))
            continue
        rows.append((label, f'{shape[0]}x{shape[1]}', _fmt(result['params']),
                     _fmt(result['flops'])))
        print(f'{label}: params {result["params"]:,} flops {result["flops"]:,} '
              f'({time.time() - start:.1f}s)')
    width = max(len(r[0]) for r in rows) if rows else 5
    print()
    print(f'| {"model".ljust(width)} | input | params | FLOPs |')
    print(f'|{"-" * (width + 2)}|-------|--------|-------|')
    for label, inp, params, flops in rows:
        print(f'| {label.ljust(width)} | {inp} | {params} | {flops} |')
    print('\nFLOPs: multiply-adds of convs / linears (mmengine counter); ACON '
          'element-wise ops not counted.')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
