"""Whole-model benchmark: one training step (forward, loss, backward) of RetinaNet R-50
and PSPNet R-50-D8 built from this repo's configs through the mmdet/mmseg registries,
with ReLU, ACON-C and Meta-ACON ``AconResNet`` backbones. Reports median step time and
memory: on CUDA the peak allocated bytes of one model's step (its weights, buffers and what
the step allocates), on CPU the bytes saved for backward (each storage once), which is what
dominates a training step's peak on CPU.
"""
from __future__ import annotations

import os
import statistics

import torch
from mmengine.config import Config

from .common import paired_with_baseline, saved_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {
    'RetinaNet R-50': ('mmdet', 'configs/retinanet/retinanet_r50-{}_fpn_1x_coco.py'),
    'PSPNet R-50-D8': ('mmseg', 'configs/pspnet/pspnet_r50-d8-{}_4xb2-80k_cityscapes-512x1024.py'),
}
ACTS = {'ReLU': 'relu', 'ACON-C': 'aconc', 'Meta-ACON': 'metaacon'}


def build(scope: str, path: str, device: str):
    cfg = Config.fromfile(os.path.join(ROOT, path))
    cfg.model.backbone.init_cfg = None
    if scope == 'mmdet':
        from mmdet.registry import MODELS as R
        from mmdet.utils import register_all_modules
    else:
        from mmseg.registry import MODELS as R
        from mmseg.utils import register_all_modules
    register_all_modules()
    import mmacon.models  # noqa: F401  (registers AconResNet, AconC, ...)
    if scope == 'mmseg':
        cfg.model.pop('data_preprocessor', None)
        for head in ('decode_head', 'auxiliary_head'):
            if cfg.model.get(head):
                cfg.model[head].norm_cfg = dict(type='BN', requires_grad=True)
        cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    else:
        cfg.model.pop('data_preprocessor', None)
    return R.build(cfg.model).to(device).train()


def batch(scope: str, n: int, hw, device: str):
    """``n`` images of ``hw`` (an int: square, or (h, w)) with their data samples."""
    h, w = (hw, hw) if isinstance(hw, int) else hw
    x = torch.rand(n, 3, h, w, device=device) * 255
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        samples = []
        for _ in range(n):
            s = DetDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w),
                                            batch_input_shape=(h, w), scale_factor=(1., 1.)))
            s.gt_instances = InstanceData(
                bboxes=torch.tensor([[10., 20., 120., 150.], [60., 40., 200., 220.]],
                                    device=device),
                labels=torch.tensor([1, 7], device=device))
            samples.append(s)
    else:
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(n):
            s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w),
                                            ori_shape=(h, w)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, h, w), device=device))
            samples.append(s)
    return x, samples


def run(device: str = 'cpu', n: int = 2, hw=256, repeats: int = 3, models=tuple(MODELS),
        amp_dtype: torch.dtype | None = None):
    """Per model, the three backbones are built side by side and each ACON one's step is
    timed in alternation with the ReLU one's, the ratio the median of each round's (see
    :func:`common.paired_with_baseline`).
    ``hw``: the image size, an int (square) or (h, w). ``amp_dtype``: forward and loss
    under ``torch.autocast`` in that dtype (AMP without a loss scaler)."""
    rows = []
    for model_name in models:
        scope, pattern = MODELS[model_name]
        steps, mems = {}, {}
        for act, tag in ACTS.items():
            torch.manual_seed(0)
            model = build(scope, pattern.format(tag), device)
            x, samples = batch(scope, n, hw, device)

            def losses(model=model, x=x, samples=samples):
                if amp_dtype is None:
                    out = model.loss(x, samples)
                else:
                    with torch.autocast(device.split(':')[0], dtype=amp_dtype):
                        out = model.loss(x, samples)
                return sum(v.sum() if isinstance(v, torch.Tensor) else sum(t.sum() for t in v)
                           for k, v in out.items() if 'loss' in k)

            def step(model=model, losses=losses):
                model.zero_grad(set_to_none=True)
                losses().backward()

            if device.startswith('cuda'):
                # the models are built side by side: count this one's parameters and buffers
                # and what its step allocates, not the others' weights and gradients
                torch.cuda.synchronize()
                before = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                step()
                own = sum(t.numel() * t.element_size()
                          for t in (*model.parameters(), *model.buffers()))
                mems[act] = torch.cuda.max_memory_allocated() - before + own
            else:
                nbytes, loss = saved_bytes(losses)
                loss.backward()
                del loss
                mems[act] = nbytes
            steps[act] = step
        rounds, ratios = paired_with_baseline(steps, 'ReLU', device, warmup=1, repeats=repeats)
        base_m = mems['ReLU']
        for act in ACTS:
            rows.append(dict(model=model_name, act=act, s=statistics.median(rounds[act]),
                             vs_relu=ratios[act],
                             mem=mems[act] / 2**20, mem_vs_relu=mems[act] / base_m))
        del steps
    return rows


def to_markdown(rows, device: str) -> str:
    mem = 'peak allocated MiB' if device.startswith('cuda') else 'saved for backward MiB'
    lines = [f'| model | backbone activation | step s | time / ReLU | {mem} | memory / ReLU |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['model']} | {r['act']} | {r['s']:.2f} | {r['vs_relu']:.2f}x | "
                     f"{r['mem']:.0f} | {r['mem_vs_relu']:.2f}x |")
    return '\n'.join(lines)


if __name__ == '__main__':  # python -m benchmarks.bench_models
    print(to_markdown(run(), 'cpu'))
