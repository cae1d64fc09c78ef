"""Run a shipped config for real: ``tools/dist_train.sh CONFIG 2`` (gloo on CPU) for 3
iterations, then ``tools/test.py`` on its checkpoint. Used by
``tests/test_configs/test_shipped_configs_ddp.py``.

The config a run uses is a generated file that ``_base_``-s the shipped one and changes
only what the tiny data and a CPU need (see :func:`override_cfg` for each key and why):

* the data: roots of the generated tiny sets (mmacon.tiny_data, upstream formats), how
  many images, their scale (pipelines' ``scale`` / ``crop_size``, the seg
  preprocessor's ``size``), batch size, ``num_workers=0``;
* the run length (3 iterations), no validation during training (``tools/test.py``
  evaluates the checkpoint), one checkpoint (the final one), a log line per iteration;
* absent checkpoints: every ``init_cfg=dict(type='Pretrained')`` keeps its type and
  ``prefix`` and loads a stand-in written by :func:`write_standin`: the module as built
  from the config, with BN running statistics measured on the tiny training images, as
  an ImageNet checkpoint has them for ImageNet. The detectors keep ``norm_eval=True``:
  with the fresh statistics (mean 0, var 1) of ``init_cfg=None``, the TFNet RetinaNet
  fed 0-255 pixels reached losses of 2.8e7 in 3 iterations and tools/test.py kept no
  box;
* ``randomness.seed=0``;
* the learning rate follows the smaller batch by the config's own ``auto_scale_lr`` rule
  (``tools/train.py --auto-scale-lr``: lr x total batch / ``base_batch_size``) where it
  has one (mmdet, mmpretrain; mmseg's configs have none). At its 1024-image lr of 0.5
  with 2 images per process (32 px), the ImageNet ShuffleNetV2 0.5x Meta-ACON's logged
  loss went 7.0 -> 12.8 -> 19.1 in 3 iterations;
* detection only: the heads' ``num_classes`` (the tiny COCO set has 3 categories and
  mmdet's ``CocoMetric`` maps labels through the set's categories), and RetinaNet's
  test ``score_thr`` (an untrained RetinaNet scores ~0.01 = its prior, below the shipped
  0.05: without boxes ``CocoMetric`` reports no mAP at all).

Everything else is as shipped: the model (``frozen_stages``, ``norm_eval``, conv biases,
SyncBN, which ``tools/train.py`` converts to BN on CPU and logs), the optimizer (its lr
scaled as above), its constructor and ``paramwise_cfg``, schedulers, hooks,
``find_unused_parameters``.
"""
from __future__ import annotations

import glob
import json
import math
import os
import os.path as osp
import re
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

from tests.test_tools.tool_helpers import REPO, TOOLS, free_port, python, run

CONFIG_ROOT = Path(REPO) / 'configs'
ITERS = 3  # training iterations of every run
WORLD_SIZE = 2  # processes of tools/dist_train.sh

# One config per model family: what `make test` runs. The ACON variants with the most
# machinery (Meta-ACON: BN generator, SyncBN in the seg configs), plus the R-50 ReLU
# baseline; the light backbones in RetinaNet, where conv_last / conv2 is built but not
# used (find_unused_parameters).
FAMILY_CONFIGS = [
    'retinanet/retinanet_r50-metaacon_fpn_1x_coco.py',
    'retinanet/retinanet_r50-relu_fpn_1x_coco.py',
    'faster_rcnn/faster-rcnn_r50-metaacon_fpn_1x_coco.py',
    'mask_rcnn/mask-rcnn_r50-metaacon_fpn_1x_coco.py',
    'pspnet/pspnet_r50-d8-metaacon_4xb2-80k_cityscapes-512x1024.py',
    'deeplabv3plus/deeplabv3plus_r50-d8-metaacon_4xb2-80k_cityscapes-512x1024.py',
    'upernet/upernet_r50-metaacon_4xb4-80k_ade20k-512x512.py',
    'imagenet/resnet50-metaacon_8xb32-linear-600k_in1k.py',
    'retinanet/retinanet_shufflenetv2-1.5x-metaacon_fpn_1x_coco.py',
    'retinanet/retinanet_tfnet-1.5x_fpn_1x_coco.py',
    'retinanet/retinanet_mobilenetv2-metaacon_fpn_1x_coco.py',
]

# The metric keys each package's evaluator of the shipped configs reports.
METRIC_KEYS = {
    'CocoDataset': ('coco/bbox_mAP', 'coco/bbox_mAP_50'),
    'CityscapesDataset': ('mIoU', 'aAcc', 'mAcc'),
    'ADE20KDataset': ('mIoU', 'aAcc', 'mAcc'),
    'ImageNet': ('accuracy/top1', 'accuracy/top5'),
}

# Sizes of the generated sets and what the pipelines shrink to. Images are as small as
# the models allow: RetinaNet's P7 is 1/128 (64 px -> 1x1), the D8 seg networks pool
# (PPM, ASPP) over a >= 4x4 map, the classifiers end at 1/32 (64 px -> 2x2).
NUM_TRAIN = 12  # 3 iterations x 2 processes x the largest batch below (epoch loops)
NUM_VAL = 2
COCO_SIZE = (64, 64)  # (w, h)
CITYSCAPES_SIZE = (128, 64)  # (w, h): Cityscapes' 2:1
ADE_SIZE = (64, 64)
# ImageNet: ResizeEdge(short side) then CenterCrop, as 256 -> 224. Not 32 px: the light
# networks' last stages are then 1x1, each BN normalises 2 values per channel, and
# MobileNetV2's BN backward gave NaN at iteration 3.
IMAGENET_SIZE = 73
IMAGENET_CROP = 64


def make_data(root: str) -> Dict[str, str]:
    """The four tiny sets under ``root`` (a few seconds), keyed by dataset type."""
    from mmacon.tiny_data import (make_tiny_ade20k, make_tiny_cityscapes, make_tiny_coco,
                                  make_tiny_imagenet)
    roots = dict(CocoDataset=osp.join(root, 'coco'),
                 CityscapesDataset=osp.join(root, 'cityscapes'),
                 ADE20KDataset=osp.join(root, 'ade20k'),
                 ImageNet=osp.join(root, 'imagenet'))
    make_tiny_coco(roots['CocoDataset'], num_train=NUM_TRAIN, num_val=NUM_VAL,
                   img_size=COCO_SIZE, max_objects=2, size_range=(16, 30))
    make_tiny_cityscapes(roots['CityscapesDataset'], num_train=NUM_TRAIN, num_val=NUM_VAL,
                         img_size=CITYSCAPES_SIZE, max_objects=2, size_range=(10, 20))
    make_tiny_ade20k(roots['ADE20KDataset'], num_train=NUM_TRAIN, num_val=NUM_VAL,
                     img_size=ADE_SIZE, max_objects=3, size_range=(12, 28))
    make_tiny_imagenet(roots['ImageNet'], num_train=NUM_TRAIN, num_val=NUM_VAL,
                       img_size=IMAGENET_SIZE)
    return roots


# ---- the overrides -------------------------------------------------------------------

def _pretrained_paths(node, path=()):
    """Key paths of every ``init_cfg`` holding a ``Pretrained`` entry."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        inits = init if isinstance(init, (list, tuple)) else [init]
        if any(isinstance(i, dict) and i.get('type') == 'Pretrained' for i in inits):
            yield path + ('init_cfg', )
        for key, value in node.items():
            if key != 'init_cfg':
                yield from _pretrained_paths(value, path + (key, ))


def _set(tree: dict, path, value) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _scaled_pipeline(pipeline, dataset: str) -> list:
    """The shipped pipeline with its image scales (only) shrunk to the tiny images."""
    out = []
    for step in pipeline:
        step = dict(step)
        kind = step['type']
        if dataset == 'CocoDataset' and kind == 'Resize':
            step['scale'] = COCO_SIZE  # keep_ratio as shipped (1333x800)
        elif dataset == 'CityscapesDataset' and kind in ('Resize', 'RandomResize'):
            step['scale'] = CITYSCAPES_SIZE  # 2048x1024 / 16; ratio_range as shipped
        elif dataset == 'ADE20KDataset' and kind in ('Resize', 'RandomResize'):
            step['scale'] = (4 * ADE_SIZE[0], ADE_SIZE[1])  # 2048x512 / 8
        elif kind == 'RandomCrop':  # seg crops: 512x1024 / 16, 512x512 / 8
            step['crop_size'] = _seg_crop(dataset)
        elif kind == 'RandomResizedCrop':
            step['scale'] = IMAGENET_CROP  # 224
        elif kind == 'ResizeEdge':
            step['scale'] = IMAGENET_SIZE  # 256
        elif kind == 'CenterCrop':
            step['crop_size'] = IMAGENET_CROP  # 224
        elif 'scale' in step or 'crop_size' in step or 'img_scale' in step:
            raise NotImplementedError(f'no tiny scale for {kind} ({dataset})')
        out.append(step)
    return out


def _seg_crop(dataset: str):
    return (CITYSCAPES_SIZE[1] // 2, CITYSCAPES_SIZE[0] // 2) if \
        dataset == 'CityscapesDataset' else ADE_SIZE  # (h, w)


def _batch(scope: str) -> int:
    """Images per process. 1 where the model allows it; 2 where a BN layer in train mode
    sees a 1x1 map: PSPNet's / UPerNet's PPM and DeepLabV3+'s image pool, and the
    classifiers' Meta-ACON generators (BN over the pooled features). The detectors keep
    ``norm_eval=True``: their backbone BN, generators' included, is in eval mode."""
    return 1 if scope == 'mmdet' else 2


def override_cfg(rel: str, roots: Dict[str, str], standin_dir: str) -> dict:
    """{top-level key: value} merged over the shipped config ``rel``."""
    from tests.test_configs.test_configs import load
    cfg = load(rel)
    scope = cfg.default_scope
    dataset = cfg.train_dataloader.dataset.type
    root = roots[dataset]
    batch = _batch(scope)
    over: dict = {}

    # data: the tiny set's root (same layout, so the shipped ann_file / data_prefix /
    # split stay), its images' scale; num_workers=0 (the main process loads: no worker
    # start-up in a 3-iteration run)
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        ds = dict(data_root=root,
                  pipeline=_scaled_pipeline(loader.dataset.pipeline, dataset))
        if dataset == 'CocoDataset':
            ds['metainfo'] = dict(classes=_coco_classes())
        over[name] = dict(num_workers=0, persistent_workers=False, dataset=ds)
    over['train_dataloader']['batch_size'] = batch
    if dataset == 'CocoDataset':
        ann = osp.join(root, 'annotations', 'instances_val2017.json')
        over['test_evaluator'] = dict(ann_file=ann)
    if scope == 'mmseg':  # the preprocessor pads every input to the (shrunk) crop
        over['model'] = dict(data_preprocessor=dict(size=_seg_crop(dataset)))

    # run length: 3 iterations. Iteration loops: max_iters=3. Epoch loops (mmdet's 1x,
    # mmpretrain's 100-epoch ResNet-50): one epoch over 3 x 2 x batch images
    # (BaseDataset's ``indices``), so their epoch-based schedulers stay as shipped.
    by_iter = cfg.train_cfg.get('type') == 'IterBasedTrainLoop'
    if by_iter:
        over['train_cfg'] = dict(max_iters=ITERS)
        over['default_hooks'] = dict(checkpoint=dict(interval=ITERS))
    else:
        over['train_cfg'] = dict(max_epochs=1)
        over['train_dataloader']['dataset']['indices'] = ITERS * WORLD_SIZE * batch
        over['default_hooks'] = dict(checkpoint=dict(interval=1))
    # no validation while training (an iteration loop always validates at its end):
    # tools/test.py evaluates the checkpoint
    over['val_cfg'] = None
    over['val_dataloader'] = None
    over['val_evaluator'] = None
    over['default_hooks']['logger'] = dict(interval=1)  # every iteration's losses

    # absent checkpoints: a stand-in file for each Pretrained init_cfg (type and prefix
    # as shipped)
    model = over.setdefault('model', {})
    for path in _pretrained_paths(cfg.model.to_dict()):
        name = '_'.join(path[:-1])
        ckpt = write_standin(rel, path[:-1], osp.join(standin_dir, f'{name}.pth'),
                             _train_images(root, dataset))
        _set(model, path, dict(checkpoint=ckpt))

    # detection heads: the tiny set's 3 categories (CocoMetric maps each predicted label
    # through the set's category ids); an untrained RetinaNet keeps its boxes
    if scope == 'mmdet':
        num = len(_coco_classes())
        if 'bbox_head' in cfg.model:
            _set(model, ('bbox_head', 'num_classes'), num)
        if 'roi_head' in cfg.model:
            _set(model, ('roi_head', 'bbox_head', 'num_classes'), num)
            if 'mask_head' in cfg.model.roi_head:
                _set(model, ('roi_head', 'mask_head', 'num_classes'), num)
        if cfg.model.type == 'RetinaNet':
            _set(model, ('test_cfg', 'score_thr'), 0.0)

    over['randomness'] = dict(seed=0)
    if not model:
        del over['model']
    return over


TRAIN_IMAGES = dict(CocoDataset='train2017/*.jpg',
                    CityscapesDataset='leftImg8bit/train/*/*.png',
                    ADE20KDataset='images/training/*.jpg')


def _train_images(root: str, dataset: str) -> List[str]:
    return sorted(glob.glob(osp.join(root, TRAIN_IMAGES[dataset])))


def write_standin(rel: str, path, out: str, images: List[str]) -> str:
    """A checkpoint for the ``Pretrained`` init_cfg of ``model.<path>`` in config ``rel``.

    The module is built from the config (SyncBN as BN, its own init_cfg dropped) and
    initialised as ``init_cfg=None`` would; its BN layers then measure their running
    statistics (cumulative average) over batches of 4 of the run's training ``images``
    (at 64x64, BGR 0-255 as the configs' input), the other layers in eval mode.
    Statistics of random pixels instead leave the eval-mode BN of the ``norm_eval=True``
    backbones mis-scaled for the real images: the Meta-ACON ShuffleNetV2 RetinaNet's
    losses then went 1.8 -> 12 in 3 iterations, and tools/test.py kept no box. Saved as
    ``{'state_dict': ...}``, with the init_cfg's ``prefix`` in front of every key, as the
    file it stands for.
    """
    import torch
    from mmengine.config import ConfigDict
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from tests.test_configs.test_configs import cpu_cfg, load
    cfg = load(rel)
    node = cfg.model
    for key in path:
        node = node[key]
    init = node.init_cfg
    module_cfg = ConfigDict(cpu_cfg(node.to_dict()))
    module_cfg.init_cfg = None
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    torch.manual_seed(0)
    module = MODELS.build(module_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('WARNING')  # init_weights logs every tensor's initialiser
    try:
        module.init_weights()
    finally:
        logger.setLevel(level)
    module.eval()
    norms = [m for m in module.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    import cv2
    pixels = torch.stack([  # BGR 0-255 (mmcv's loader), the configs' input convention
        torch.from_numpy(cv2.resize(cv2.imread(f), (64, 64))).permute(2, 0, 1).float()
        for f in images])
    assert len(pixels) >= 4, images
    with torch.no_grad():
        for batch in pixels.split(4):
            module(batch)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    prefix = init.get('prefix') or ''
    state = {prefix + k: v for k, v in module.state_dict().items()}
    os.makedirs(osp.dirname(out), exist_ok=True)
    torch.save(dict(state_dict=state), out)
    return out


def _coco_classes():
    from mmacon.tiny_data import tiny_coco_classes
    return tiny_coco_classes()


def write_override(rel: str, roots: Dict[str, str], path: str) -> str:
    standin_dir = osp.join(osp.dirname(path), 'standin')
    lines = [f'# {rel} as shipped, on tiny data for {ITERS} iterations '
             '(tests/test_configs/shipped_ddp.py)',
             f'_base_ = {str(CONFIG_ROOT / rel)!r}', '']
    for key, value in override_cfg(rel, roots, standin_dir).items():
        lines.append(f'{key} = {value!r}')
    Path(path).write_text('\n'.join(lines) + '\n')
    return path


# ---- the run --------------------------------------------------------------------------

@dataclass
class Result:
    rel: str
    train_log: str
    test_log: str
    losses: List[dict]  # one record per logged training iteration (scalars.json)
    metrics: dict  # what tools/test.py reported
    checkpoint: str
    times: Dict[str, float] = field(default_factory=dict)


def train_args(rel: str) -> List[str]:
    """``--auto-scale-lr`` where the config says how its lr scales with the batch."""
    from tests.test_configs.test_configs import load
    auto = load(rel).get('auto_scale_lr') or {}
    return ['--auto-scale-lr'] if auto.get('base_batch_size') else []


def run_config(rel: str, roots: Dict[str, str], work: str) -> Result:
    os.makedirs(work, exist_ok=True)
    config = write_override(rel, roots, osp.join(work, 'config.py'))
    train_dir, test_dir = osp.join(work, 'train'), osp.join(work, 'test')
    start, cpu = time.time(), _children_cpu()
    train = run(['bash', osp.join(TOOLS, 'dist_train.sh'), config, str(WORLD_SIZE),
                 '--work-dir', train_dir] + train_args(rel), timeout=900, check=False,
                PYTHON=python(), PORT=str(free_port()))
    train_s, train_cpu = time.time() - start, _children_cpu() - cpu
    train_log = train.stdout + train.stderr
    if train.returncode != 0:
        raise AssertionError(f'{rel}: dist_train.sh failed ({train.returncode}):\n'
                             f'{_errors(train_log)}')
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    start, cpu = time.time(), _children_cpu()
    test = run([python(), osp.join(TOOLS, 'test.py'), config, checkpoint,
                '--work-dir', test_dir], timeout=600, check=False)
    test_s, test_cpu = time.time() - start, _children_cpu() - cpu
    test_log = test.stdout + test.stderr
    if test.returncode != 0:
        raise AssertionError(f'{rel}: test.py failed ({test.returncode}):\n'
                             f'{_errors(test_log)}')
    return Result(rel, train_log, test_log, _scalars(train_dir), _metrics(test_dir),
                  checkpoint, dict(train=train_s, test=test_s, train_cpu=train_cpu,
                                   test_cpu=test_cpu))


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far: a run's cost
    that the load of a shared machine does not inflate as much as its wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _errors(log: str) -> str:
    """The end of a failed run's log, and every line naming an error (both ranks)."""
    lines = log.splitlines()
    errors = [line for line in lines if re.search(r'Error|error:|Expected to', line)]
    return '\n'.join(errors[:20] + ['...'] + lines[-60:])


def _scalars(work_dir: str) -> List[dict]:
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f if line.strip()]


def _metrics(work_dir: str) -> dict:
    files = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return json.load(f)


def finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
