"""Regenerate the parameter / FLOPs table of docs/backbones.md.

Every figure is measured here with mmengine's ``get_model_complexity_info`` at 1x3x224x224
(one multiply-add = one FLOP; convolutions and linear layers are counted, element-wise
ops such as ACON's sigmoid and products are not). "backbone" is the mmacon module as
used by a detector / segmentor (no classifier); "+ classifier" adds the ImageNet
classifier of the paper's model (global pool -> linear to 1000 classes) so the figures
compare with the paper's.

    python tools/analysis/backbone_table.py                     # print the table
    python tools/analysis/backbone_table.py --write docs/backbones.md
    python tools/analysis/backbone_table.py --only ShuffleNetV2  # rows whose name matches
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
import time

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.logging import MMLogger
from mmengine.registry import MODELS

import mmacon  # noqa: F401  (registers the backbones)

START, END = '<!-- backbone-table:start -->', '<!-- backbone-table:end -->'

# name, backbone cfg, classifier (in_features, bias), paper (FLOPs, params) or None.
# Paper figures include the classifier; '' where the paper gives none. The paper's ResNet
# FLOPs are listed beside the official (caffe-style) layout whose count they match.
MODELS_TO_MEASURE = [
    ('ResNet-18 ReLU (mmdet)', dict(type='AconResNet', depth=18, act_cfg=None), (512, True), ''),
    ('ResNet-18 ACON-C', dict(type='AconResNet', depth=18, act_cfg=dict(type='AconC')),
     (512, True), ''),
    ('ResNet-18 Meta-ACON', dict(type='AconResNet', depth=18), (512, True), ''),
    ('ResNet-34 Meta-ACON', dict(type='AconResNet', depth=34), (512, True), ''),
    ('ResNet-50 ReLU (mmdet)', dict(type='AconResNet', depth=50, act_cfg=None), (2048, True),
     '- / 25.5M'),
    ('ResNet-50 ACON-C', dict(type='AconResNet', depth=50, act_cfg=dict(type='AconC')),
     (2048, True), ''),
    ('ResNet-50 Meta-ACON', dict(type='AconResNet', depth=50), (2048, True), '- / 25.7M'),
    ('ResNet-50 Meta-ACON official layout', dict(type='AconResNet', depth=50, style='caffe',
                                                 conv_bias=True), (2048, True), '3.9G / -'),
    ('ResNet-101 Meta-ACON', dict(type='AconResNet', depth=101), (2048, True),
     '- / 44.8M'),
    ('ResNet-101 Meta-ACON official layout', dict(type='AconResNet', depth=101, style='caffe',
                                                  conv_bias=True), (2048, True), '7.6G / -'),
    ('ResNet-152 Meta-ACON', dict(type='AconResNet', depth=152), (2048, True),
     '- / 60.5M'),
    ('ResNet-152 Meta-ACON official layout', dict(type='AconResNet', depth=152, style='caffe',
                                                  conv_bias=True), (2048, True), '11.3G / -'),
    ('ShuffleNetV2 0.5x ReLU', dict(type='AconShuffleNetV2', widen_factor=0.5, act_cfg=None,
                                    conv_bias=False), (1024, False), '41M / 1.4M'),
    ('ShuffleNetV2 0.5x Meta-ACON', dict(type='AconShuffleNetV2', widen_factor=0.5),
     (1024, False), '41M / 1.7M'),
    ('ShuffleNetV2 1.0x Meta-ACON', dict(type='AconShuffleNetV2', widen_factor=1.0),
     (1024, False), ''),
    ('ShuffleNetV2 1.5x ReLU', dict(type='AconShuffleNetV2', widen_factor=1.5, act_cfg=None,
                                    conv_bias=False), (1024, False), '299M / 3.5M'),
    ('ShuffleNetV2 1.5x Meta-ACON', dict(type='AconShuffleNetV2', widen_factor=1.5),
     (1024, False), '299M / 3.9M'),
    ('ShuffleNetV2 2.0x Meta-ACON', dict(type='AconShuffleNetV2', widen_factor=2.0),
     (2048, False), ''),
    ('MobileNetV2 1.0 ReLU6 (mmdet)', dict(type='AconMobileNetV2', act_cfg=None),
     (1280, True), ''),
    ('MobileNetV2 1.0 ACON-C', dict(type='AconMobileNetV2', act_cfg=dict(type='AconC')),
     (1280, True), ''),
    ('MobileNetV2 1.0 Meta-ACON', dict(type='AconMobileNetV2'), (1280, True), ''),
    ('MobileNetV2 1.0 Meta-ACON dw', dict(type='AconMobileNetV2', act_placement='dw'),
     (1280, True), ''),
    ('TFNet 0.5', dict(type='TFNet', widen_factor=0.5), (1024, True), '43M / 1.3M'),
    ('TFNet 1.0', dict(type='TFNet', widen_factor=1.0), (1024, True), '135M / 1.9M'),
    ('TFNet 1.5', dict(type='TFNet', widen_factor=1.5), (1024, True), '279M / 2.7M'),
    ('TFNet 2.0', dict(type='TFNet', widen_factor=2.0), (1024, True), '474M / 3.8M'),
]


def _fmt(value: float) -> str:
    if value >= 1e9:
        return f'{value / 1e9:.2f}G'
    if value >= 1e6:
        return f'{value / 1e6:.1f}M' if value >= 1e8 else f'{value / 1e6:.2f}M'
    return f'{value / 1e3:.1f}K'


def _cfg_str(cfg: dict) -> str:
    def value(v):
        if isinstance(v, dict):
            return f'dict({_cfg_str(v)})'
        return repr(v)
    return ', '.join(f'{k}={value(v)}' for k, v in cfg.items())


def measure(cfg: dict) -> tuple[int, int]:
    """(params, FLOPs) of the backbone built from ``cfg`` at 1x3x224x224, last output only."""
    model = MODELS.build(dict(cfg, out_indices=(-1, ))).eval()
    with torch.no_grad():
        info = get_model_complexity_info(model, input_shape=(3, 224, 224),
                                         show_table=False, show_arch=False)
    return int(info['params']), int(info['flops'])


def build_table(only: str | None = None) -> str:
    lines = ['| model | config | backbone params | backbone FLOPs | + classifier params '
             '| + classifier FLOPs | paper FLOPs / params |',
             '|---|---|---|---|---|---|---|']
    for name, cfg, (in_features, bias), paper in MODELS_TO_MEASURE:
        if only and not re.search(only, name):
            continue
        start = time.time()
        params, flops = measure(cfg)
        cls_params = in_features * 1000 + (1000 if bias else 0)
        cls_flops = in_features * 1000
        lines.append(f'| {name} | `{_cfg_str(cfg)}` | {params:,} | {_fmt(flops)} | '
                     f'{_fmt(params + cls_params)} | {_fmt(flops + cls_flops)} | '
                     f'{paper or "-"} |')
        print(f'{name}: {time.time() - start:.1f}s', file=sys.stderr)
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', help='markdown file whose table (between the '
                        f'{START} / {END} markers) is replaced')
    parser.add_argument('--only', help='regex: measure only the rows whose name matches')
    args = parser.parse_args()
    torch.set_num_threads(1)
    # the counter warns once per model about every uncounted op (sigmoid, add, BN, ...)
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    table = build_table(args.only)
    if not args.write:
        print(table)
        return
    with open(args.write) as f:
        text = f.read()
    if START not in text or END not in text:
        raise SystemExit(f'{args.write}: markers {START} / {END} not found')
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(args.write, 'w') as f:
        f.write(f'{head}{START}\n{table}\n{END}{tail}')
    print(f'wrote the table into {args.write}')


if __name__ == '__main__':
    main()
