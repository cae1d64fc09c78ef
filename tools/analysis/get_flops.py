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
post-processing), as mmdet's and mmseg's own get_flops tools do, with two fixed protocols
so that counts compare between variants and repeat exactly:

* **Input size.** A config is measured at its test scale unless ``--shape`` is given: the
  largest image its test pipeline produces (a keep-ratio ``Resize(scale=(L, S))`` gives at
  most S x L, i.e. H = min, W = max; a fixed-size one gives exactly ``scale``), padded to
  the data preprocessor's ``pad_size_divisor``; an mmseg ``test_cfg.mode='slide'`` model is
  measured on one ``crop_size`` window. A bare backbone defaults to 224 x 224.
* **Proposals of two-stage detectors.** The RoI head's cost grows with the number of
  proposals, which a randomly initialised RPN makes at random (after NMS). Instead of the
  RPN's proposals, the RoI head gets a fixed set of boxes: ``--num-proposals`` per image
  (default: the RPN's ``test_cfg.max_per_img``, 1000 in the COCO configs; the mask head
  then takes the first 100, as mmdet's ``StandardRoIHead.forward`` does), drawn once with
  seed 0 inside the image. The RPN head's convolutions are counted; its NMS is not (no
  FLOPs are counted for it in any case).
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


class FixedProposalForward(nn.Module):
    """A two-stage detector's ``_forward`` with fixed proposals instead of the RPN's:
    backbone + neck, the RPN head's convs, and the RoI head on ``proposals``."""

    def __init__(self, model: nn.Module, data_samples, proposals) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples
        self.proposals = proposals

    def forward(self, x):
        feats = self.model.extract_feat(x)
        rpn_outs = self.model.rpn_head(feats)
        roi_outs = self.model.roi_head.forward(feats, self.proposals, self.data_samples)
        return rpn_outs, roi_outs


def is_two_stage(model: nn.Module) -> bool:
    return getattr(model, 'with_rpn', False) and hasattr(model, 'roi_head')


def default_num_proposals(model: nn.Module) -> int:
    """The RPN's ``test_cfg.max_per_img`` (1000 when not set)."""
    test_cfg = getattr(model.rpn_head, 'test_cfg', None) or {}
    return int(test_cfg.get('max_per_img', 1000))


def fixed_proposals(num: int, shape: tuple, batch: int = 1, seed: int = 0) -> list:
    """``num`` boxes per image, drawn once with ``seed``, inside an ``shape`` (H, W) image."""
    from mmengine.structures import InstanceData
    h, w = shape
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        x1 = torch.rand(num, generator=gen) * (w - 2)
        y1 = torch.rand(num, generator=gen) * (h - 2)
        x2 = x1 + 1 + torch.rand(num, generator=gen) * (w - 1 - x1)
        y2 = y1 + 1 + torch.rand(num, generator=gen) * (h - 1 - y1)
        out.append(InstanceData(bboxes=torch.stack([x1, y1, x2, y2], 1),
                                scores=torch.ones(num)))
    return out


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


def _round_up(value: int, divisor: int) -> int:
    return -(-value // divisor) * divisor if divisor else value


def _test_pipeline(cfg) -> list:
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while 'dataset' in dataset or 'datasets' in dataset:  # dataset wrappers
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    return dataset.get('pipeline') or cfg.get('test_pipeline') or []


def input_shape_of(cfg) -> tuple[tuple[int, int], str]:
    """(H, W) a config's model sees at test time, and how it was found (module doc)."""
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide' and test_cfg.get('crop_size'):
        h, w = test_cfg['crop_size']
        return (int(h), int(w)), 'one slide-inference window (test_cfg.crop_size)'
    for step in _test_pipeline(cfg):
        if str(step.get('type', '')).split('.')[-1] in ('Resize', 'RandomResize') \
                and step.get('scale'):
            scale = step['scale']
            scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
            if step.get('keep_ratio', False):
                h, w = min(scale), max(scale)
                how = f'test Resize scale={scale}, keep_ratio: largest image'
            else:
                w, h = scale
                how = f'test Resize scale={scale}'
            divisor = (cfg.model.get('data_preprocessor') or {}).get('pad_size_divisor', 0)
            if divisor:
                h, w = _round_up(h, divisor), _round_up(w, divisor)
                how += f', padded to a multiple of {divisor}'
            return (int(h), int(w)), how
    raise ValueError('no Resize with a scale in the test pipeline: give --shape H W')


def measure(model: nn.Module, shape: tuple, is_config: bool,
            num_proposals: int | None = None) -> dict:
    from mmengine.analysis import FlopAnalyzer, parameter_count
    model = model.eval()
    x = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(0))
    params = parameter_count(model)['']
    info = {}
    if is_config and is_two_stage(model):
        num = num_proposals or default_num_proposals(model)
        info['proposals'] = num
        model = FixedProposalForward(model, make_data_samples(model, 1, shape),
                                     fixed_proposals(num, shape)).eval()
    elif is_config and hasattr(model, '_forward'):
        model = TensorForward(model, make_data_samples(model, 1, shape)).eval()
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, inputs=(x, ))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        flops = analyzer.total()
    return dict(flops=flops, params=params, **info)


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
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input H W (one value: square); default: each config\'s test '
                        'scale (see the module doc), 224 224 for a bare backbone')
    parser.add_argument('--num-proposals', type=int, default=None,
                        help='fixed proposals per image for two-stage detectors (default: '
                        'the RPN test_cfg.max_per_img)')
    args = parser.parse_args(argv)
    if not (args.configs or args.backbone_cfg or args.all_backbones):
        parser.error('give config paths, --backbone-cfg or --all-backbones')
    if args.shape is not None and len(args.shape) == 1:
        args.shape = args.shape * 2
    if args.shape is not None and len(args.shape) != 2:
        parser.error(f'--shape takes H W or one size, got {args.shape}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    given = tuple(args.shape) if args.shape else None
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
            model, cfg = build_model(config, backbone_cfg)
            if given:
                shape, how = given, '--shape'
            elif cfg is not None:
                shape, how = input_shape_of(cfg)
            else:
                shape, how = (224, 224), 'default for a backbone'
            result = measure(model, shape, config is not None, args.num_proposals)
        except Exception as err:  # noqa: BLE001 - one bad entry must not stop the table
            failures += 1
            print(f'error: {label}: {type(err).__name__}: {err}', file=sys.stderr)
            rows.append((label, 'failed', '-', '-'))
            continue
        rows.append((label, f'{shape[0]}x{shape[1]}', _fmt(result['params']),
                     _fmt(result['flops'])))
        extra = (f', {result["proposals"]} fixed proposals' if 'proposals' in result else '')
        print(f'{label}: input {shape[0]}x{shape[1]} ({how}{extra}): params '
              f'{result["params"]:,} flops {result["flops"]:,} ({time.time() - start:.1f}s)')
    width = max(len(r[0]) for r in rows) if rows else 5
    print()
    print(f'| {"model".ljust(width)} | input | params | FLOPs |')
    print(f'|{"-" * (width + 2)}|-------|--------|-------|')
    for label, inp, params, flops in rows:
        print(f'| {label.ljust(width)} | {inp} | {params} | {flops} |')
    print('\nFLOPs: multiply-adds of convs / linears (mmengine counter); ACON '
          'element-wise ops not counted. Two-stage detectors: fixed proposals (seed 0), '
          'not the RPN\'s.')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
