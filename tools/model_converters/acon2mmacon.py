"""Convert official ACON / Meta-ACON ImageNet checkpoints to mmacon backbone checkpoints.

Supported: ResNet-50/101/152 ACON-C / Meta-ACON (``AconResNet``), ShuffleNetV2 Meta-ACON
0.5x-2.0x (``AconShuffleNetV2``) and TFNet 0.5-2.0 (``TFNet``).

The official release (github.com/nmaac/acon) saves ``{'state_dict': ...}`` from
``nn.DataParallel`` (keys prefixed ``module.``) with a classifier (``fc.*`` for ResNets,
``classifier.*`` for ShuffleNetV2 / TFNet). This script

1. loads the file with ``torch.load(weights_only=True)`` (refusing pickled objects),
2. unwraps ``state_dict`` / ``model``, strips ``module.``, drops the classifier,
3. maps the keys to the mmacon backbone (ResNet names are already mmdet's and the
   ShuffleNetV2 / TFNet backbones keep the official module names, so the mapping is the
   identity after step 2),
4. infers the backbone config from the tensor shapes (ResNet depth, ShuffleNetV2 /
   TFNet ``widen_factor``, ACON type, Meta-ACON reduction),
   builds that backbone and checks every key and shape (unmatched keys are listed and
   nothing is written unless ``--no-verify``),
5. saves ``{'state_dict': backbone_state_dict, 'meta': {...}}`` for
   ``init_cfg=dict(type='Pretrained', checkpoint=DST)``.

Output names follow the configs: the official file name with ``_mmacon`` before ``.pth``.
Examples::

    python tools/model_converters/acon2mmacon.py res50.metaacon.pth \
        checkpoints/res50.metaacon_mmacon.pth
    python tools/model_converters/acon2mmacon.py res50.acon.pth \
        checkpoints/res50.acon_mmacon.pth
    python tools/model_converters/acon2mmacon.py shufflenetv2.1.5.metaacon.pth \
        checkpoints/shufflenetv2.1.5.metaacon_mmacon.pth
    python tools/model_converters/acon2mmacon.py tfnet.0.5.pth checkpoints/tfnet.0.5_mmacon.pth

The official models were trained on BGR pixels in 0-255 with no mean/std normalisation;
see ``docs/transfer_learning.md`` for the matching ``data_preprocessor``. The script says
which layout it was given (:func:`describe_source`) and prints the input convention and
notes for that layout only: a torchvision-layout ReLU ResNet (no conv biases, no ACON
tensors) gets ``style='pytorch'`` and the RGB / ImageNet mean-std convention, a layout it
cannot place gets no convention at all.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Callable

import torch

from mmacon.utils.checkpoint import CheckpointError, load_state_dict_file, strip_prefixes

# Input conventions, by the layout the weights come in (see describe_source).
OFFICIAL_INPUT = ('BGR channel order, pixel values in 0-255, no mean/std normalisation '
                  '(mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False)')
OFFICIAL_PREPROCESSOR = ("data_preprocessor=dict(mean=[0., 0., 0.], std=[1., 1., 1.], "
                         "bgr_to_rgb=False)")
TORCHVISION_INPUT = ('RGB channel order, ImageNet mean/std normalisation of 0-255 pixels '
                     '(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], '
                     'bgr_to_rgb=True: mmdet / mmseg defaults)')
TORCHVISION_PREPROCESSOR = ("data_preprocessor=dict(mean=[123.675, 116.28, 103.53], "
                            "std=[58.395, 57.12, 57.375], bgr_to_rgb=True)")

# Classifier heads of the official models: not part of any backbone.
HEAD_PATTERNS = (r'^fc\.', r'^classifier\.')

RESNET_DEPTHS = {
    ('bottleneck', (3, 4, 6, 3)): 50,
    ('bottleneck', (3, 4, 23, 3)): 101,
    ('bottleneck', (3, 8, 36, 3)): 152,
    ('basic', (2, 2, 2, 2)): 18,
    ('basic', (3, 4, 6, 3)): 34,
}


class ArchRule:
    """How one official architecture maps to an mmacon backbone."""

    def __init__(self, name: str, detect: Callable[[list], bool],
                 rename: Callable[[str], str], infer_cfg: Callable[[dict], dict]) -> None:
        self.name = name
        self.detect = detect
        self.rename = rename
        self.infer_cfg = infer_cfg


# ----------------------------------------------------------------------------- helpers
def infer_reduction(pairs: list[tuple[int, int]], arch: str) -> int:
    """The r with ``hidden == max(r, C // r)`` for every (C, hidden) generator; 16 first."""
    if not pairs:
        raise CheckpointError(f'{arch}: no Meta-ACON generator (fc1) found')
    top = max(max(c, h) for c, h in pairs)
    candidates = [16, 8] + [r for r in range(1, top + 1) if r not in (8, 16)]
    for r in candidates:
        if all(h == max(r, c // r) for c, h in pairs):
            return r
    raise CheckpointError(f'{arch}: Meta-ACON generator widths {sorted(set(pairs))} '
                          f'(channels, hidden) fit no reduction r with hidden = max(r, C // r)')


def meta_pairs(state_dict: dict) -> list[tuple[int, int]]:
    pairs = []
    for key, value in state_dict.items():
        if key.endswith('.fc1.weight') and value.dim() == 4:
            pairs.append((int(value.shape[1]), int(value.shape[0])))
    return pairs


def act_cfg_of(state_dict: dict, arch: str, module_re: str) -> dict | None:
    """ACON type of the modules whose key prefix matches ``module_re`` (ending in '.')."""
    sub = OrderedDict((k, v) for k, v in state_dict.items() if re.search(module_re, k))
    if not sub:
        return None
    prefixes = {re.search(module_re, k).group(0) for k in sub}
    if any(f'{p}fc1.weight' in sub for p in prefixes):
        return dict(type='MetaAconC', reduction=infer_reduction(meta_pairs(sub), arch))
    if any(f'{p}beta' in sub for p in prefixes):
        return dict(type='AconC')
    raise CheckpointError(f'{arch}: cannot tell the ACON type of {sorted(prefixes)[:3]}: '
                          f'neither fc1 (Meta-ACON) nor beta (ACON-C) present')


# ----------------------------------------------------------------------------- ResNet
def _resnet_detect(keys: list) -> bool:
    # torchvision names == mmdet's ResNet names (bn1 is ``norm1_name``), ``acon`` is kept,
    # so the ResNet mapping is the identity too.
    return any(re.match(r'layer\d+\.\d+\.conv1\.weight$', k) for k in keys)


def _resnet_cfg(sd: dict) -> dict:
    counts = []
    for stage in range(1, 5):
        blocks = {int(m.group(1)) for k in sd
                  for m in [re.match(rf'layer{stage}\.(\d+)\.', k)] if m}
        if not blocks:
            break
        if blocks != set(range(len(blocks))):
            raise CheckpointError(f'ResNet: layer{stage} has non-contiguous blocks '
                                  f'{sorted(blocks)}')
        counts.append(len(blocks))
    kind = 'bottleneck' if 'layer1.0.conv3.weight' in sd else 'basic'
    depth = RESNET_DEPTHS.get((kind, tuple(counts)))
    if depth is None:
        raise CheckpointError(f'ResNet: {kind} blocks per stage {tuple(counts)} match no depth '
                              f'of {sorted(set(RESNET_DEPTHS.values()))}')
    if kind == 'bottleneck':
        if any(re.search(r'\.acon[123]\.', k) for k in sd):
            placement, pattern = 'all', r'^layer\d+\.\d+\.acon[123]\.'
        else:
            placement, pattern = 'paper', r'^layer\d+\.\d+\.acon\.'
    else:
        placement, pattern = 'paper', r'^layer\d+\.\d+\.acon[12]\.'
    act_cfg = act_cfg_of(sd, 'ResNet', pattern)
    conv_bias = 'conv1.bias' in sd
    cfg = dict(type='AconResNet', depth=depth)
    if conv_bias:  # the official training code: stride on the 1x1 conv, biases
        cfg.update(style='caffe', conv_bias=True)
    elif act_cfg is None:  # torchvision / timm: stride on the 3x3 conv, no biases
        cfg.update(style='pytorch')
    cfg['act_cfg'] = act_cfg
    if 'conv1.weight' in sd and sd['conv1.weight'].shape[0] != 64:
        cfg['base_channels'] = int(sd['conv1.weight'].shape[0])
    if placement != 'paper':
        cfg['act_placement'] = placement
    return cfg


# ----------------------------------------------------------------------------- ShuffleNetV2 / TFNet
# The mmacon backbones keep the official module names (first_conv, features.N.branch_main
# / branch_proj / acon, conv_last), so the mapping is the identity; the config comes from
# the shapes and is checked against the built backbone (verify) before anything is written.
# Input channels of conv_last (= stage 4 width) -> widen factor (AconShuffleNetV2.ARCH_CHANNELS).
SHUFFLENET_WIDTHS = {192: 0.5, 464: 1.0, 704: 1.5, 976: 2.0}
# The activation slots of the official ShuffleNetV2 (ReLU there in the plain model).
SHUFFLENET_ACT_RE = (r'^(first_conv\.2|features\.\d+\.branch_main\.[27]|'
                     r'features\.\d+\.branch_proj\.4|conv_last\.2)\.')
TFNET_WIDTHS = (0.5, 1.0, 1.5, 2.0)  # stem 16 * w channels


def _identity(key: str) -> str:
    return key


def _shufflenet_detect(keys: list) -> bool:
    return any(re.match(r'features\.\d+\.branch_main\.\d+\.', k) for k in keys) and \
        not any('conv_frelu' in k for k in keys)


def _shufflenet_cfg(sd: dict) -> dict:
    if 'conv_last.0.weight' not in sd:
        raise CheckpointError('ShuffleNetV2: conv_last.0.weight missing')
    last_in = int(sd['conv_last.0.weight'].shape[1])
    if last_in not in SHUFFLENET_WIDTHS:
        raise CheckpointError(f'ShuffleNetV2: {last_in} channels into conv_last match no '
                              f'width of {SHUFFLENET_WIDTHS}')
    # No parameters in the activation slots: the plain ReLU model.
    act_cfg = act_cfg_of(sd, 'ShuffleNetV2', SHUFFLENET_ACT_RE)
    return dict(type='AconShuffleNetV2', widen_factor=SHUFFLENET_WIDTHS[last_in],
                act_cfg=act_cfg or dict(type='ReLU'))


def _tfnet_detect(keys: list) -> bool:
    return any(re.match(r'features\.\d+\.branch_main\.2\.conv_frelu\.', k) for k in keys)


def _tfnet_cfg(sd: dict) -> dict:
    if 'first_conv.0.weight' not in sd:
        raise CheckpointError('TFNet: first_conv.0.weight missing')
    stem = int(sd['first_conv.0.weight'].shape[0])
    widen_factor = stem / 16
    if widen_factor not in TFNET_WIDTHS:
        raise CheckpointError(f'TFNet: {stem} stem channels (16 * widen_factor) match no '
                              f'widen_factor of {TFNET_WIDTHS}')
    cfg = dict(type='TFNet', widen_factor=widen_factor)
    last = sd.get('conv_last.0.weight')
    if last is not None and last.dim() == 4 and last.shape[0] != 1024:
        cfg['last_channels'] = int(last.shape[0])
    return cfg


ARCHS = OrderedDict(
    resnet=ArchRule('resnet', _resnet_detect, _identity, _resnet_cfg),
    shufflenetv2=ArchRule('shufflenetv2', _shufflenet_detect, _identity, _shufflenet_cfg),
    tfnet=ArchRule('tfnet', _tfnet_detect, _identity, _tfnet_cfg),
)


# ----------------------------------------------------------------------------- provenance
class Source:
    """What the weights are, told from their tensors, and the advice that fits them."""

    def __init__(self, layout: str, input_convention: str | None = None,
                 preprocessor: str | None = None, notes: tuple = ()) -> None:
        self.layout = layout
        self.input_convention = input_convention  # None: cannot be told from the weights
        self.preprocessor = preprocessor
        self.notes = notes


def describe_source(arch: str, state_dict: dict, backbone_cfg: dict) -> Source:
    """Tell the official ACON / Meta-ACON release layout, a torchvision-layout ReLU ResNet
    and anything else apart, from the (converted) tensors alone.

    * ResNet with a bias on every conv: the official training code's layout (the ACON /
      Meta-ACON release, or a ReLU model trained with it): BGR 0-255 input, stride on the
      1x1 conv (``style='caffe'``, Bottleneck only).
    * ResNet without conv biases and without ACON tensors: torchvision's (and timm's)
      ReLU ResNet: RGB input with ImageNet mean/std, stride on the 3x3 conv
      (``style='pytorch'``); mmdet's own ``ResNet`` loads it as well.
    * Anything else (e.g. ACON tensors without conv biases): the input convention and the
      stride placement cannot be told from the weights; no advice is given.
    * ShuffleNetV2 / TFNet in the official module names: the official release's
      convention (BGR 0-255).
    """
    if arch != 'resnet':
        return Source(f'official {arch} layout (github.com/nmaac/acon)', OFFICIAL_INPUT,
                      OFFICIAL_PREPROCESSOR)
    has_acon = backbone_cfg.get('act_cfg') is not None
    bottleneck = 'layer1.0.conv3.weight' in state_dict
    if backbone_cfg.get('conv_bias'):
        notes = ("the official ResNets put the stride on the first 1x1 conv: keep "
                 "style='caffe' in your config", ) if bottleneck else ()
        layout = ('official ACON / Meta-ACON release layout (conv biases, ACON tensors)'
                  if has_acon else 'official ACON training-code layout, plain ReLU (conv '
                  'biases, no ACON tensors)')
        return Source(layout, OFFICIAL_INPUT, OFFICIAL_PREPROCESSOR, notes)
    if not has_acon:
        notes = ("a plain ReLU ResNet: with act_cfg=None AconResNet is mmdet's / mmseg's "
                 "ResNet, so type='ResNet' loads these weights as well", )
        if bottleneck:
            notes += ("torchvision puts the stride on the 3x3 conv: style='pytorch'", )
        return Source('torchvision ReLU ResNet layout (no conv biases, no ACON tensors)',
                      TORCHVISION_INPUT, TORCHVISION_PREPROCESSOR, notes)
    return Source('unknown ResNet layout (ACON tensors but no conv biases: not the '
                  'official release)', None, None,
                  ('the input convention and the stride placement (style) cannot be told '
                   'from the weights: use those the model was trained with', ))


# ----------------------------------------------------------------------------- conversion
def detect_arch(keys: list) -> str:
    for name, rule in ARCHS.items():
        if rule.detect(keys):
            return name
    raise CheckpointError(
        'cannot recognise the architecture from the keys (first: '
        f'{keys[:5]}); supported: {list(ARCHS)}. Pass --arch if the layout is right.')


def convert(state_dict: dict, arch: str | None = None) -> tuple[OrderedDict, dict]:
    """Official state dict (already unwrapped) -> (mmacon backbone state dict, info).

    ``info`` holds ``arch``, ``backbone_cfg``, ``dropped`` (classifier keys) and
    ``renamed`` (official -> mmacon names that changed).
    """
    state_dict = strip_prefixes(state_dict)
    keys = list(state_dict)
    arch = arch or detect_arch(keys)
    if arch not in ARCHS:
        raise CheckpointError(f'unknown --arch {arch!r}; supported: {list(ARCHS)}')
    rule = ARCHS[arch]
    out, dropped, renamed = OrderedDict(), [], []
    for key, value in state_dict.items():
        if any(re.match(p, key) for p in HEAD_PATTERNS):
            dropped.append(key)
            continue
        new_key = rule.rename(key)
        if new_key is None:
            dropped.append(key)
            continue
        if new_key != key:
            renamed.append((key, new_key))
        if new_key in out:
            raise CheckpointError(f'{arch}: two keys map to {new_key!r}')
        out[new_key] = value
    info = dict(arch=arch, backbone_cfg=rule.infer_cfg(out), dropped=dropped, renamed=renamed)
    return out, info


def verify(state_dict: dict, backbone_cfg: dict) -> dict:
    """Build ``backbone_cfg`` and compare keys and shapes; returns the mismatch lists."""
    import mmacon  # noqa: F401  (registers the backbones)
    from mmengine.registry import MODELS
    model = MODELS.build(dict(backbone_cfg))
    own = model.state_dict()
    return dict(
        missing=[k for k in own if k not in state_dict
                 and not k.endswith('num_batches_tracked')],
        unexpected=[k for k in state_dict if k not in own],
        shape=[f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}'
               for k in own if k in state_dict and state_dict[k].shape != own[k].shape])


def format_cfg(cfg) -> str:
    if isinstance(cfg, dict):
        return 'dict(' + ', '.join(f'{k}={format_cfg(v)}' for k, v in cfg.items()) + ')'
    return repr(cfg)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official ACON / Meta-ACON ImageNet checkpoint (ResNet-50/'
        '101/152 ACON-C or Meta-ACON, ShuffleNetV2 Meta-ACON, TFNet) to an mmacon '
        'backbone checkpoint')
    parser.add_argument('src', help='official checkpoint, e.g. res50.metaacon.pth')
    parser.add_argument('dst', help='where to save the mmacon backbone checkpoint, by '
                        'convention the source name with _mmacon before .pth, e.g. '
                        'checkpoints/res50.metaacon_mmacon.pth')
    parser.add_argument('--arch', choices=list(ARCHS), default=None,
                        help='source architecture (default: detected from the keys)')
    parser.add_argument('--prefix', default='',
                        help="prefix for every key, e.g. 'backbone.' for a whole-model "
                        "`load_from`; default none, for the backbone's init_cfg")
    parser.add_argument('--no-verify', action='store_true',
                        help='write even if the keys do not match the inferred backbone')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        state_dict = load_state_dict_file(args.src)
        converted, info = convert(state_dict, args.arch)
    except CheckpointError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    cfg = info['backbone_cfg']
    print(f'source: {args.src} ({len(state_dict)} tensors), architecture: {info["arch"]}')
    print(f'dropped classifier keys ({len(info["dropped"])}): {info["dropped"]}')
    if info['renamed']:
        print(f'renamed {len(info["renamed"])} keys, e.g. {info["renamed"][:3]}')
    print(f'backbone: {format_cfg(cfg)}')
    source = describe_source(info['arch'], converted, cfg)
    print(f'layout: {source.layout}')
    for note in source.notes:
        print(f'note: {note}')
    try:
        report = verify(converted, cfg)
    except Exception as err:  # noqa: BLE001 - the backbone could not be built
        report = None
        print(f'warning: could not build {cfg["type"]} to verify the keys: '
              f'{type(err).__name__}: {err}', file=sys.stderr)
        if not args.no_verify:
            print('error: not writing an unverified checkpoint (pass --no-verify to force)',
                  file=sys.stderr)
            return 1
    if report is not None:
        bad = any(report.values())
        for what, items in report.items():
            if items:
                print(f'{"error" if not args.no_verify else "warning"}: {len(items)} '
                      f'{what} key(s) against {cfg["type"]}:', file=sys.stderr)
                for item in items:
                    print(f'    {item}', file=sys.stderr)
        if bad and not args.no_verify:
            print('error: keys do not match; nothing written', file=sys.stderr)
            return 1
        if not bad:
            print(f'verified: the keys and shapes of all {len(converted)} tensors match '
                  f'{cfg["type"]} (no missing, unexpected or mis-shaped keys)')

    out = OrderedDict((args.prefix + k, v) for k, v in converted.items())
    meta = dict(converted_from=osp.basename(args.src), converter='acon2mmacon',
                arch=info['arch'], backbone_cfg=cfg, layout=source.layout,
                input_convention=source.input_convention)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=out, meta=meta), args.dst)
    print(f'saved {len(out)} tensors to {args.dst}')
    if source.input_convention is None:
        print('input convention of these weights: unknown (not told by the tensors)')
    else:
        print(f'input convention of these weights: {source.input_convention}')
        print(f'  in an mmdet / mmseg config: {source.preprocessor}')
    print(f"  backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='{args.dst}'))")
    return 0


if __name__ == '__main__':
    sys.exit(main())
