"""Export an ACON backbone (or a model's backbone + neck features) to ONNX and check it.

ACON-C and Meta-ACON export as plain ONNX ops (Mul, Sub, Sigmoid, ReduceMean, Conv,
BatchNormalization folded into Conv / kept): opset 13 or later with the torchscript
exporter (the default), 18 or later with ``--exporter dynamo``. With ``--verify``
(the default when onnxruntime is installed) onnxruntime runs the file on the same input
and the maximum absolute difference to PyTorch is printed and checked against
``--atol + --rtol * max|output|`` (1e-4 + 1e-5 * max|output|; the sample input follows
the config's data_preprocessor, or the official 0-255 BGR convention for a bare backbone,
so features can be large).

The exported graph is the feature extractor: a bare backbone (``--backbone-cfg``) or
``model.extract_feat`` of a detector / segmentor config (backbone + neck). With ``--head``
it runs on through the heads, ``model._forward`` (the raw head outputs, flattened: a
single-stage detector's class scores and box regressions per level, a segmentor's
logits), which is where ACON converted into a head (``AconConvert``) sits. Whole detectors
with post-processing (NMS) are mmdeploy's job: an mmacon model deploys like any mmdet
model there once ``custom_imports=dict(imports=['mmacon'])`` is in the config.

Examples::

    python tools/deployment/pytorch2onnx.py --backbone-cfg \
        "dict(type='AconResNet', depth=50, style='caffe', conv_bias=True)" \
        --checkpoint res50.metaacon_mmacon.pth --shape 224 224 --output r50_metaacon.onnx
    python tools/deployment/pytorch2onnx.py CONFIG --checkpoint CKPT --output feats.onnx
    python tools/deployment/pytorch2onnx.py CONFIG --checkpoint CKPT --head --output heads.onnx
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch
from torch import nn

from mmacon.utils.checkpoint import CheckpointError
from mmacon.utils.model_loading import build_model, feature_fn, head_fn, load_checkpoint_into
from mmacon.utils.sample_inputs import load_images, preprocess_cfg


# The opset each exporter writes by default, which is also its lowest: ACON needs opset
# 13 (ReduceMean / Sigmoid as used); torch's dynamo exporter implements opset 18 and up
# (torch.onnx._internal.exporter._constants.TORCHLIB_OPSET) and asking it for less
# makes it try a down-conversion that fails with a printed traceback.
DEFAULT_OPSET = dict(torchscript=13, dynamo=18)


def _flatten(out) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in _flatten(item)]


class FeatureExporter(nn.Module):
    """Wrap a model so that its forward returns a flat tuple of feature tensors
    (``head=True``: of its raw head outputs, :func:`head_fn`)."""

    def __init__(self, model: nn.Module, head: bool = False) -> None:
        super().__init__()
        self.model = model
        self._fn = head_fn(model) if head else feature_fn(model)

    def forward(self, x: torch.Tensor):
        return tuple(_flatten(self._fn(x)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export an ACON backbone to ONNX')
    parser.add_argument('config', nargs='?', default=None,
                        help='model config (omit with --backbone-cfg)')
    parser.add_argument('--backbone-cfg', default=None,
                        help="backbone-only mode: dict(type='AconResNet', depth=50, ...)")
    parser.add_argument('--checkpoint', default=None,
                        help='weights to export (default: random initialisation)')
    parser.add_argument('--output', default='work_dirs/model.onnx')
    parser.add_argument('--head', action='store_true',
                        help="config mode: export through the heads (model._forward, the raw "
                        "head outputs before post-processing) instead of the backbone + neck "
                        "features; single-stage detectors and segmentors")
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2, help='batch size of the sample input')
    parser.add_argument('--opset', type=int, default=None,
                        help='ONNX opset; default 13 for the torchscript exporter, 18 for '
                        'dynamo (its lowest: torch has no dynamo implementations below 18, '
                        'and converting down fails)')
    parser.add_argument('--exporter', choices=list(DEFAULT_OPSET), default='torchscript',
                        help='torch.onnx exporter (torchscript: dynamo=False, exact opset)')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width axes (torchscript exporter)')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='allowed max abs difference onnxruntime vs PyTorch (1e-4)')
    parser.add_argument('--rtol', type=float, default=1e-5,
                        help='plus this fraction of max |output| (1e-5): the official '
                        'input convention is 0-255, so features can reach hundreds')
    parser.add_argument('--no-verify', action='store_true', help='skip the onnxruntime check')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random initialisation (without --checkpoint), so '
                        'that the check is reproducible (0)')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.backbone_cfg is None):
        parser.error('give exactly one of CONFIG or --backbone-cfg')
    if args.head and args.config is None:
        parser.error('--head needs a CONFIG (a detector or segmentor), not --backbone-cfg')
    lowest = DEFAULT_OPSET[args.exporter]
    if args.opset is None:
        args.opset = lowest
    elif args.opset < lowest:
        parser.error(f'--exporter {args.exporter} writes opset {lowest} or later, got '
                     f'--opset {args.opset}' + (
                         '; use --exporter torchscript for opsets 13-17'
                         if args.exporter == 'dynamo' else ''))
    return args


def export(module: nn.Module, x: torch.Tensor, output: str, opset: int = 13,
           exporter: str = 'torchscript', dynamic: bool = False) -> list[str]:
    """Export ``module`` (returning a tuple of tensors) to ``output``; returns output names."""
    with torch.no_grad():
        num_out = len(module(x))
    output_names = [f'feat{i}' for i in range(num_out)]
    kwargs = dict(input_names=['input'], output_names=output_names, opset_version=opset)
    if exporter == 'torchscript':
        if dynamic:
            axes = {0: 'batch', 2: 'height', 3: 'width'}
            kwargs['dynamic_axes'] = {name: axes for name in ['input'] + output_names}
        torch.onnx.export(module, (x, ), output, dynamo=False, **kwargs)
    else:
        torch.onnx.export(module, (x, ), output, dynamo=True, external_data=False, **kwargs)
    return output_names


def run_onnxruntime(path: str, x: torch.Tensor) -> list[np.ndarray]:
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


def max_abs_diff(torch_outs, ort_outs) -> float:
    if len(torch_outs) != len(ort_outs):
        raise ValueError(f'{len(torch_outs)} PyTorch outputs vs {len(ort_outs)} from ONNX')
    diffs = []
    for t, o in zip(torch_outs, ort_outs):
        if tuple(t.shape) != tuple(o.shape):
            raise ValueError(f'shape {tuple(t.shape)} (PyTorch) vs {tuple(o.shape)} (ONNX)')
        diffs.append(float(np.abs(t.numpy() - o).max()))
    return max(diffs)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)  # the random weights, when no checkpoint replaces them
    try:
        model, cfg = build_model(args.config, args.backbone_cfg)
        if args.checkpoint:
            where = load_checkpoint_into(model, args.checkpoint)
            print(f'loaded {args.checkpoint} into the {where}')
        else:
            print('warning: no --checkpoint, exporting randomly initialised weights')
        module = FeatureExporter(model.eval(), head=args.head).eval()
    except (CheckpointError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    mean, std, to_rgb = preprocess_cfg(cfg)
    x, _ = load_images(None, args.batch, tuple(args.shape), mean, std, to_rgb)
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    names = export(module, x, args.output, args.opset, args.exporter, args.dynamic)
    import onnx
    proto = onnx.load(args.output)
    opset = next((o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')), None)
    print(f'exported {args.output}: input (N, 3, {args.shape[0]}, {args.shape[1]}), outputs '
          f'{names}, opset {opset}, {len(proto.graph.node)} nodes')
    if args.no_verify:
        return 0
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('onnxruntime is not installed: skipping the numerical check')
        return 0
    with torch.no_grad():
        torch_outs = module(x)
    diff = max_abs_diff(torch_outs, run_onnxruntime(args.output, x))
    scale = max(float(t.abs().max()) for t in torch_outs)
    tol = args.atol + args.rtol * scale
    ok = diff <= tol
    print(f'onnxruntime vs PyTorch: max abs diff {diff:.3g}, max |output| {scale:.3g} '
          f'({"within" if ok else "EXCEEDS"} atol {args.atol:g} + rtol {args.rtol:g} * '
          f'max |output| = {tol:.3g})')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
