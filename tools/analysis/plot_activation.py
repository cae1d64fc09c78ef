"""Plot learned ACON activation curves and their derivatives for chosen channels.

For ACON-C, ``f(x) = (p1 - p2) x sigmoid(beta (p1 - p2) x) + p2 x``; its derivative tends
to ``p1`` as x -> +inf and ``p2`` as x -> -inf (for beta (p1 - p2) > 0; swapped otherwise),
which is the paper's figure of ACON-C and its derivative: the dashed lines mark p1 and p2.
The derivative comes from autograd through mmacon's reference formula.

Meta-ACON's beta depends on the input; its curves are drawn for the fixed betas of
``--meta-beta`` (beta is a sigmoid output, in (0, 1)). ACON-B (p1 = 1) is handled too.

Sources of the parameters:

- checkpoint only: ACON modules are found from the keys (``<name>.p1``, ``<name>.p2``,
  ``<name>.beta`` / ``<name>.fc1.weight``), no model is built;
- ``CONFIG CHECKPOINT`` or ``--backbone-cfg ... CHECKPOINT``: the checkpoint is loaded into
  the model first (so a mismatch is reported), then its ACON modules are read.

Example::

    python tools/analysis/plot_activation.py CHECKPOINT --layers 'layer4.*' \
        --channels 0 1 2 3 --out-dir out/curves

Writes ``act_<layer>.png`` (curve and derivative side by side) per layer.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import os.path as osp
import sys

import torch

from mmacon.utils.checkpoint import CheckpointError, load_state_dict_file
from mmacon.utils.model_loading import build_model, load_checkpoint_into


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot learned ACON-C / Meta-ACON curves and derivatives')
    parser.add_argument('paths', nargs='+', metavar='[CONFIG] CHECKPOINT',
                        help='checkpoint, optionally preceded by a model config')
    parser.add_argument('--backbone-cfg', default=None,
                        help="load into this backbone first: dict(type='AconResNet', ...)")
    parser.add_argument('--layers', nargs='+', default=['*'],
                        help='fnmatch patterns of ACON module names (default all)')
    parser.add_argument('--channels', type=int, nargs='+', default=[0, 1, 2, 3],
                        help='channel indices to plot (default 0 1 2 3)')
    parser.add_argument('--meta-beta', type=float, nargs='+', default=[0.1, 0.5, 0.9],
                        help='betas for Meta-ACON curves (default 0.1 0.5 0.9)')
    parser.add_argument('--x-range', type=float, nargs=2, default=[-6., 6.],
                        metavar=('MIN', 'MAX'))
    parser.add_argument('--out-dir', default='work_dirs/activation_curves')
    args = parser.parse_args(argv)
    if len(args.paths) > 2:
        parser.error('give CHECKPOINT or CONFIG CHECKPOINT')
    return args


def _vec(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(-1).double().cpu()


def acon_params_from_state_dict(state_dict: dict) -> dict:
    """{module name: dict(kind, p1, p2, beta)} from keys; beta None for Meta-ACON."""
    found = {}
    for key in state_dict:
        if not key.endswith('.p2') and key != 'p2':
            continue
        name = key[:-3].rstrip('.')
        prefix = f'{name}.' if name else ''
        p2 = state_dict[key]
        if f'{prefix}fc1.weight' in state_dict or f'{prefix}fc.weight' in state_dict:
            kind, beta = 'MetaAconC', None
        else:
            kind, beta = 'AconC', state_dict.get(f'{prefix}beta')
            if beta is None:
                continue
        p1 = state_dict.get(f'{prefix}p1')
        if p1 is None:
            kind, p1 = 'AconB', torch.ones_like(p2)
        found[name] = dict(kind=kind, p1=_vec(p1), p2=_vec(p2),
                           beta=None if beta is None else _vec(beta))
    return found


def acon_params_from_model(model: torch.nn.Module) -> dict:
    from mmacon.models import AconB, AconC, MetaAconC
    found = {}
    for name, m in model.named_modules():
        if isinstance(m, (AconC, AconB)):
            found[name] = dict(kind=type(m).__name__, p1=_vec(m.p1.expand_as(m.p2)),
                               p2=_vec(m.p2), beta=_vec(m.beta))
        elif isinstance(m, MetaAconC):
            found[name] = dict(kind='MetaAconC', p1=_vec(m.p1), p2=_vec(m.p2), beta=None)
    return found


def curve_and_derivative(x: torch.Tensor, p1: float, p2: float, beta: float):
    """ACON-C and d/dx by autograd (float64)."""
    from mmacon.models.activations import acon_c_reference
    x = x.clone().requires_grad_(True)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    y = acon_c_reference(x, t(p1), t(p2), t(beta))
    (grad, ) = torch.autograd.grad(y.sum(), x)
    return y.detach().numpy(), grad.numpy()


def plot_layer(name: str, params: dict, channels: list, meta_betas: list, x_range, path: str):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    x = torch.linspace(x_range[0], x_range[1], 401, dtype=torch.float64)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    styles = ['-', '--', ':', '-.']
    for ci, c in enumerate(channels):
        color = colors[ci % len(colors)]
        p1, p2 = params['p1'][c].item(), params['p2'][c].item()
        if params['beta'] is not None:
            betas = [(params['beta'][c].item(), '')]
        else:
            betas = [(b, f' beta={b:g}') for b in meta_betas]
        for bi, (beta, tag) in enumerate(betas):
            y, dy = curve_and_derivative(x, p1, p2, beta)
            label = f'ch {c}{tag}' if bi or tag else \
                f'ch {c} (p1={p1:.2f}, p2={p2:.2f}, beta={beta:.2f})'
            if tag and bi == 0:
                label = f'ch {c} (p1={p1:.2f}, p2={p2:.2f}){tag}'
            ls = styles[bi % len(styles)]
            ax_f.plot(x.numpy(), y, ls, color=color, label=label)
            ax_d.plot(x.numpy(), dy, ls, color=color)
        for bound in (p1, p2):
            ax_d.axhline(bound, color=color, linestyle=(0, (2, 3)), linewidth=0.8)
    ax_f.set_title(f'{name} ({params["kind"]}): f(x)', fontsize=10)
    ax_d.set_title("f'(x); dotted: p1, p2 (limits as x -> +-inf)", fontsize=10)
    for ax in (ax_f, ax_d):
        ax.axhline(0, color='gray', linewidth=0.5)
        ax.axvline(0, color='gray', linewidth=0.5)
        ax.set_xlabel('x')
    ax_f.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    config = args.paths[0] if len(args.paths) == 2 else None
    checkpoint = args.paths[-1]
    try:
        if config is not None or args.backbone_cfg is not None:
            model, _ = build_model(config, args.backbone_cfg)
            where = load_checkpoint_into(model, checkpoint)
            acons = acon_params_from_model(model)
            print(f'loaded {checkpoint} into the {where}')
        else:
            acons = acon_params_from_state_dict(load_state_dict_file(checkpoint))
    except (CheckpointError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    # Patterns match the full name or the name without a leading 'backbone.'.
    selected = {n: p for n, p in acons.items()
                if any(fnmatch.fnmatch(n, pat) or fnmatch.fnmatch(n[9:] if n.startswith(
                    'backbone.') else n, pat) for pat in args.layers)}
    if not selected:
        print(f'error: no ACON module matches {args.layers}; found {len(acons)}: '
              f'{list(acons)[:6]}', file=sys.stderr)
        return 1
    os.makedirs(args.out_dir, exist_ok=True)
    for name, params in selected.items():
        channels = [c for c in args.channels if 0 <= c < params['p2'].numel()]
        if not channels:
            print(f'error: {name} has {params["p2"].numel()} channels; none of '
                  f'{args.channels} exist', file=sys.stderr)
            return 1
        path = osp.join(args.out_dir, f'act_{(name or "acon").replace(".", "_")}.png')
        plot_layer(name, params, channels, args.meta_beta, args.x_range, path)
        print(f'{name} ({params["kind"]}): channels {channels} -> {path}')
    print(f'wrote {len(selected)} plots to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
