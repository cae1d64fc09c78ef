"""Plot the distribution of Meta-ACON's generated beta over channels, per sample and layer.

Reproduces the kind of figure the ACON paper shows for the last bottleneck of a
ResNet-50 Meta-ACON: for each input image, a histogram of ``beta_c = G(x)_c`` over the
channels of one Meta-ACON layer; different images give different beta distributions.

A forward hook on every ``MetaAconC`` calls its ``generate_beta`` on the layer input, so
the model's own forward is unchanged.

Examples::

    # a whole model from a config (detector / segmentor: runs backbone + neck)
    python tools/analysis/beta_distribution.py CONFIG CHECKPOINT \
        --images demo/a.jpg demo/b.jpg --layers 'backbone.layer4.2.acon' --out-dir out/beta
    # a bare backbone, e.g. a checkpoint converted by acon2mmacon.py
    python tools/analysis/beta_distribution.py --backbone-cfg \
        "dict(type='AconResNet', depth=50, style='caffe', conv_bias=True)" CHECKPOINT \
        --num-random 4 --out-dir out/beta

Writes ``beta_<layer>.png`` per layer, ``beta_summary.png`` (mean and spread of beta per
layer and sample) and ``betas.npz`` (the raw values, one array (samples, ...) per layer).
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import os.path as osp
import sys

import numpy as np
import torch

from mmacon.utils.checkpoint import CheckpointError
from mmacon.utils.model_loading import build_model, feature_fn, load_checkpoint_into
from mmacon.utils.sample_inputs import load_images, preprocess_cfg


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot the per-sample distribution of Meta-ACON beta over channels')
    parser.add_argument('config', nargs='?', default=None,
                        help='model config file (omit with --backbone-cfg)')
    parser.add_argument('checkpoint', help='checkpoint (whole model or backbone)')
    parser.add_argument('--backbone-cfg', default=None,
                        help="backbone-only mode: dict(type='AconResNet', depth=50, ...)")
    parser.add_argument('--images', nargs='+', default=None, help='input images')
    parser.add_argument('--num-random', type=int, default=4,
                        help='number of synthetic images when --images is not given')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224],
                        metavar=('H', 'W'), help='input size (default 224 224)')
    parser.add_argument('--layers', nargs='+', default=['*'],
                        help='fnmatch patterns of MetaAconC module names (default all); '
                        "e.g. 'layer4.2.acon' for the paper's last ResNet-50 bottleneck")
    parser.add_argument('--bins', type=int, default=30, help='histogram bins on [0, 1]')
    parser.add_argument('--out-dir', default='work_dirs/beta_distribution')
    return parser.parse_args(argv)


def capture_betas(model: torch.nn.Module, x: torch.Tensor, patterns=('*', )) -> dict:
    """Run ``model`` (or its extract_feat) on ``x``; return {layer name: beta (N, ...)}."""
    from mmacon.models import MetaAconC
    betas, handles = {}, []

    def make_hook(name):
        def hook(module, inputs, output):
            betas[name] = module.generate_beta(inputs[0]).detach().cpu()
        return hook

    for name, module in model.named_modules():
        if isinstance(module, MetaAconC) and any(fnmatch.fnmatch(name, p) for p in patterns):
            handles.append(module.register_forward_hook(make_hook(name)))
    if not handles:
        names = [n for n, m in model.named_modules() if isinstance(m, MetaAconC)]
        raise ValueError(f'no MetaAconC module matches {list(patterns)}; the model has '
                         f'{len(names)}: {names[:6]}{" ..." if len(names) > 6 else ""}')
    try:
        with torch.no_grad():
            feature_fn(model)(x)
    finally:
        for handle in handles:
            handle.remove()
    return betas


def plot_layer(name: str, beta: torch.Tensor, sample_names: list, bins: int, path: str):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    edges = np.linspace(0, 1, bins + 1)
    for i, sample in enumerate(sample_names):
        values = beta[i].flatten().numpy()
        ax.hist(values, bins=edges, histtype='step', linewidth=1.5, label=sample,
                density=True)
    per = 'channel' if beta.dim() == 4 and beta.shape[1] > 1 and beta.shape[-1] == 1 \
        else 'position' if beta.shape[-1] > 1 else 'sample'
    ax.set_xlabel(f'beta (one value per {per})')
    ax.set_ylabel('density')
    ax.set_xlim(0, 1)
    ax.set_title(f'{name}: {beta[0].numel()} betas per sample', fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_summary(betas: dict, sample_names: list, path: str):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(betas)
    fig, ax = plt.subplots(figsize=(max(5.5, 0.4 * len(names)), 3.8))
    pos = np.arange(len(names))
    for i, sample in enumerate(sample_names):
        mean = [betas[n][i].mean().item() for n in names]
        std = [betas[n][i].std().item() if betas[n][i].numel() > 1 else 0. for n in names]
        ax.errorbar(pos + 0.08 * (i - len(sample_names) / 2), mean, yerr=std, fmt='o-',
                    markersize=3, capsize=2, label=sample)
    ax.set_xticks(pos)
    ax.set_xticklabels(names, rotation=60, ha='right', fontsize=7)
    ax.set_ylabel('beta: mean +- std over channels')
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.config is None and args.backbone_cfg is None:
        print('error: give a config file or --backbone-cfg', file=sys.stderr)
        return 2
    try:
        model, cfg = build_model(args.config, args.backbone_cfg)
        where = load_checkpoint_into(model, args.checkpoint)
        model.eval()
        mean, std, to_rgb = preprocess_cfg(cfg)
        x, sample_names = load_images(args.images, args.num_random, tuple(args.shape),
                                      mean, std, to_rgb)
        betas = capture_betas(model, x, args.layers)
    except (CheckpointError, ValueError, FileNotFoundError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'loaded {args.checkpoint} into the {where}; input mean={mean} std={std} '
          f'bgr_to_rgb={to_rgb}; {len(sample_names)} images of {tuple(args.shape)}')
    os.makedirs(args.out_dir, exist_ok=True)
    for name, beta in betas.items():
        path = osp.join(args.out_dir, f'beta_{name.replace(".", "_")}.png')
        plot_layer(name, beta, sample_names, args.bins, path)
        flat = beta.flatten(1)
        print(f'{name}: beta {tuple(beta.shape[1:])} per sample, mean per sample '
              f'{[round(v, 3) for v in flat.mean(1).tolist()]} -> {path}')
    plot_summary(betas, sample_names, osp.join(args.out_dir, 'beta_summary.png'))
    np.savez(osp.join(args.out_dir, 'betas.npz'),
             **{name: beta.numpy() for name, beta in betas.items()},
             samples=np.array(sample_names))
    print(f'wrote {len(betas)} layer plots, beta_summary.png and betas.npz to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
