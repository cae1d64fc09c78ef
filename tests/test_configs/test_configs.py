"""Every config under ``configs/`` (``_base_/`` excepted) loads, builds and runs on CPU.

Parametrised over the files found on disk, so new configs (``configs/tiny/`` included)
are covered without editing this module. Models are built with SyncBN swapped for BN
and Pretrained ``init_cfg`` dropped, and run one loss forward on a tiny synthetic batch.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

CONFIG_ROOT = Path(__file__).resolve().parents[2] / 'configs'
CONFIGS = sorted(p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIG_ROOT.rglob('*.py')
                 if '_base_' not in p.relative_to(CONFIG_ROOT).parts)

# The no-decay rule of every config, and the parameters it is for (no other parameter of
# the supported models ends in .p1, .p2 or .beta, so the names are an independent oracle).
CONSTRUCTOR = 'AconOptimWrapperConstructor'
ACON_PARAM = re.compile(r'\.(p1|p2|beta)$')
# ACON configs are named ``<...>-<act>_...``; their ReLU baseline replaces <act> by relu.
ACON_TAG = re.compile(r'-(metaacon|aconc)(?=[_-])')

# Side of the synthetic images: the smallest on which every model still has a >= 1x1
# map at its coarsest level (RetinaNet's P7 is 1/128), so the forward stays cheap.
IMG = 32


@functools.lru_cache(maxsize=None)
def _package_cfg_index(package_path: str) -> dict:
    """Config name -> metafile entry of an installed OpenMMLab package, read once."""
    import os.path as osp

    from mmengine.fileio import load as load_file
    found = {}
    mim = osp.join(package_path, '.mim')
    for meta_path in load_file(osp.join(mim, 'model-index.yml'))['Import']:
        for model_cfg in load_file(osp.join(mim, meta_path))['Models']:
            if 'Config' in model_cfg:
                found.setdefault(model_cfg['Config'].partition('/')[-1], model_cfg)
    return found


@contextlib.contextmanager
def _fast_external_cfg_lookup():
    """While loading, parse each package's metafiles once, not once per ``mmdet::`` base.

    mmengine 0.10 re-reads about a hundred metafile.yml (about 1 s) each time a config
    names an upstream one; the answer only depends on the installed package. Same
    lookup as ``mmengine.config.utils._get_cfg_metainfo``; unknown names go to it.
    """
    from mmengine.config import utils
    original = getattr(utils, '_get_cfg_metainfo', None)
    if original is None:  # another mmengine: nothing to speed up
        yield
        return

    def lookup(package_path: str, cfg_path: str) -> dict:
        found = _package_cfg_index(package_path)
        return found[cfg_path] if cfg_path in found else original(package_path, cfg_path)

    utils._get_cfg_metainfo = lookup
    try:
        yield
    finally:
        utils._get_cfg_metainfo = original


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small convs on a shared CPU: one thread is ~10x faster than oversubscribed ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def _load(rel: str) -> Config:
    with _fast_external_cfg_lookup():
        return Config.fromfile(str(CONFIG_ROOT / rel))


def load(rel: str) -> Config:
    return copy.deepcopy(_load(rel))


def cpu_cfg(obj):
    """Copy of a config (sub)tree runnable on one CPU process.

    SyncBN (and mmcv's MMSyncBN) -> BN, everywhere, the Meta-ACON generators' norm_cfg
    included; Pretrained ``init_cfg`` and ``pretrained`` -> None, so no file is needed.
    """
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == 'type' and value in ('SyncBN', 'MMSyncBN'):
                value = 'BN'
            elif key == 'init_cfg' and _is_pretrained(value):
                value = None
            elif key == 'pretrained':
                value = None
            out[key] = cpu_cfg(value)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(cpu_cfg(v) for v in obj)
    return obj


def _is_pretrained(init_cfg) -> bool:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(isinstance(c, dict) and c.get('type') == 'Pretrained' for c in cfgs)


def _scope(cfg: Config) -> str:
    scope = cfg.get('default_scope')
    assert scope in ('mmdet', 'mmseg', 'mmpretrain'), f'unexpected default_scope {scope!r}'
    return scope


def build_model(rel: str):
    """(cfg, model) for a config on CPU."""
    cfg = load(rel)
    scope = _scope(cfg)
    init_default_scope(scope)
    model_cfg = ConfigDict(cpu_cfg(cfg.model.to_dict()))
    if scope == 'mmseg':
        # upstream pads every input to the training crop (e.g. 512x1024): keep it tiny
        model_cfg['data_preprocessor']['size'] = (IMG, IMG)
        from mmseg.registry import MODELS
    elif scope == 'mmpretrain':
        # the Runner fills the classifier's preprocessor from the top-level key
        model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        from mmpretrain.registry import MODELS
    else:
        from mmdet.registry import MODELS
    torch.manual_seed(0)
    return cfg, MODELS.build(model_cfg)


def _det_batch(model, n: int = 2):
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    samples = []
    for i in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                                        pad_shape=(IMG, IMG), scale_factor=(1., 1.)))
        box = torch.tensor([[4. + i, 5., 20., 25. - i]])
        masks = np.zeros((1, IMG, IMG), dtype=np.uint8)
        masks[0, 5:25, 4:20] = 1
        s.gt_instances = InstanceData(bboxes=box, labels=torch.tensor([i % 2]),
                                      masks=BitmapMasks(masks, IMG, IMG))
        samples.append(s)
    return samples


def _seg_batch(model, n: int = 2):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    num_classes = model.decode_head.num_classes
    samples = []
    for i in range(n):
        s = SegDataSample(metainfo=dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                                        pad_shape=(IMG, IMG)))
        label = torch.randint(0, num_classes, (1, IMG, IMG))
        label[:, :4] = 255  # some ignored pixels
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    return samples


def _cls_batch(model, n: int = 2):
    from mmpretrain.structures import DataSample
    return [DataSample().set_gt_label(i) for i in range(n)]


BATCHES = dict(mmdet=_det_batch, mmseg=_seg_batch, mmpretrain=_cls_batch)


def _weight_decays(model, optim_wrapper_cfg) -> dict:
    """{parameter name: weight_decay of its group} as the config's optimizer sets it."""
    from mmengine.optim import build_optim_wrapper
    optimizer = build_optim_wrapper(model, optim_wrapper_cfg).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: group['weight_decay']
            for group in optimizer.param_groups for p in group['params']}


def _acon_sibling(rel: str) -> str | None:
    """The ReLU baseline's name (``-relu6`` where the plain network has ReLU6)."""
    if not ACON_TAG.search(rel):
        return None
    names = [ACON_TAG.sub(tag, rel, count=1) for tag in ('-relu', '-relu6')]
    return next((name for name in names if name in CONFIGS), names[0])


def _drop(d: dict, *path: str) -> None:
    for key in path[:-1]:
        d = d.get(key) or {}
    d.pop(path[-1], None)


def test_configs_found():
    assert len(CONFIGS) >= 18, CONFIGS
    for family in ('retinanet', 'faster_rcnn', 'mask_rcnn', 'pspnet', 'deeplabv3plus',
                   'upernet'):
        assert any(c.startswith(family + '/') for c in CONFIGS), family


@pytest.mark.parametrize('rel', CONFIGS)
def test_config_loads_with_custom_imports(rel):
    cfg = load(rel)
    imports = cfg.get('custom_imports', {})
    assert 'mmacon' in imports.get('imports', []), f'{rel}: custom_imports lacks mmacon'
    assert imports.get('allow_failed_imports') is False, rel
    assert 'model' in cfg and 'optim_wrapper' in cfg, rel
    assert cfg.optim_wrapper.get('constructor') == CONSTRUCTOR, rel


@pytest.mark.parametrize('rel', CONFIGS)
def test_model_builds_and_runs_one_loss_forward(rel):
    cfg, model = build_model(rel)
    model.train()
    samples = BATCHES[_scope(cfg)](model)
    inputs = [torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8) for _ in samples]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total), f'{rel}: {losses}'

    # the activation asked for is in the network, and the no-decay rule reaches exactly
    # its p1 / p2 / beta: every other parameter is decayed as mmengine's default does
    act_cfg = cfg.model.get('backbone', {}).get('act_cfg')
    acts = {type(m).__name__ for m in model.modules()}
    if act_cfg is not None and act_cfg.get('type') not in ('ReLU', 'ReLU6'):
        assert act_cfg['type'] in acts, rel
    elif 'backbone' in cfg.model:  # a ReLU baseline has no ACON-C / Meta-ACON left
        assert not acts & {'AconC', 'MetaAconC'}, f'{rel}: {acts & {"AconC", "MetaAconC"}}'
    ours = _weight_decays(model, cfg.optim_wrapper)
    default = _weight_decays(model, dict(cfg.optim_wrapper,
                                         constructor='DefaultOptimWrapperConstructor'))
    assert sorted(ours) == sorted(default), rel
    for name, decay in default.items():
        if ACON_PARAM.search(name):
            assert decay > 0 and ours[name] == 0, f'{rel}: {name} decayed ({ours[name]})'
        else:
            assert ours[name] == decay, f'{rel}: {name}: {ours[name]} != default {decay}'


@pytest.mark.parametrize('rel', [
    'retinanet/retinanet_r50-metaacon_fpn_1x_coco.py',
    'pspnet/pspnet_r50-d8-aconc_4xb2-80k_cityscapes-512x1024.py',
])
def test_optimizer_groups_no_decay_for_acon_params(rel):
    from mmengine.optim import build_optim_wrapper
    cfg, model = build_model(rel)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    assert base_wd > 0
    names = {id(p): n for n, p in model.named_parameters()}
    wd = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            wd[names[id(p)]] = group['weight_decay']
    acon = [n for n in wd if ACON_PARAM.search(n)]
    # p1 and p2 in every ACON module, beta too for ACON-C (Meta-ACON generates it)
    assert any(n.endswith('.p1') for n in acon) and any(n.endswith('.p2') for n in acon)
    if cfg.model.backbone.act_cfg.type == 'AconC':
        assert any(n.endswith('.beta') for n in acon)
    assert all(wd[n] == 0 for n in acon), {n: wd[n] for n in acon if wd[n]}
    convs = [n for n in wd if re.search(r'conv\d?\.weight$', n) and 'backbone' in n]
    assert convs and all(wd[n] == base_wd for n in convs)
    # the generators' 1x1 convs are ordinary weights: they keep the decay
    fcs = [n for n in wd if re.search(r'\.fc[12]\.weight$', n)]
    assert all(wd[n] == base_wd for n in fcs)
    assert bool(fcs) == (cfg.model.backbone.act_cfg.type == 'MetaAconC')


@pytest.mark.parametrize('rel', ['retinanet/retinanet_r50-metaacon_fpn_1x_coco.py',
                                 'tiny/pspnet_r18-d8-metaacon_tiny-cityscapes.py'])
def test_config_dump_keeps_no_decay_rule(tmp_path, rel):
    """The runner dumps the config to its work dir; the run it describes must not change."""
    cfg = load(rel)
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = Config.fromfile(str(tmp_path / 'dumped.py'))
    assert again.optim_wrapper == cfg.optim_wrapper
    assert again.optim_wrapper.constructor == CONSTRUCTOR
    assert again.model.backbone == cfg.model.backbone
    assert again.train_cfg == cfg.train_cfg and again.param_scheduler == cfg.param_scheduler


ACON_CONFIGS = [c for c in CONFIGS if _acon_sibling(c)]
PAIRED_CONFIGS = [c for c in ACON_CONFIGS if _acon_sibling(c) in CONFIGS]


def test_every_acon_config_has_its_relu_baseline():
    unpaired = [c for c in ACON_CONFIGS if c not in PAIRED_CONFIGS]
    assert not unpaired, f'ACON configs without a ReLU baseline next to them: {unpaired}'
    assert len(PAIRED_CONFIGS) >= 14


@pytest.mark.parametrize('rel', PAIRED_CONFIGS)
def test_acon_config_differs_from_relu_baseline_only_in_activation(rel):
    baseline = _acon_sibling(rel)
    acon, relu = load(rel).to_dict(), load(baseline).to_dict()
    assert acon['model']['backbone']['act_cfg'] is not None
    assert relu['model']['backbone']['act_cfg'] is None
    for cfg in (acon, relu):
        _drop(cfg, 'model', 'backbone', 'act_cfg')
        _drop(cfg, 'model', 'backbone', 'init_cfg', 'checkpoint')
        # official ACON checkpoints are backbone-only, ours whole classifiers
        _drop(cfg, 'model', 'backbone', 'init_cfg', 'prefix')
    assert acon == relu


def test_tfnet_config_pairs_with_the_shufflenetv2_relu_baseline():
    """TFNet has no ReLU version: its baseline is ShuffleNetV2 1.5x ReLU (similar FLOPs),
    the same detector, input and schedule with another backbone and FPN inputs."""
    tfnet = load('retinanet/retinanet_tfnet-1.5x_fpn_1x_coco.py').to_dict()
    relu = load('retinanet/retinanet_shufflenetv2-1.5x-relu_fpn_1x_coco.py').to_dict()
    assert tfnet['model']['backbone']['type'] == 'TFNet'
    assert relu['model']['backbone']['type'] == 'AconShuffleNetV2'
    for cfg in (tfnet, relu):
        _drop(cfg, 'model', 'backbone')
        _drop(cfg, 'model', 'neck', 'in_channels')
    assert tfnet == relu


# ---- configs/tiny: each is its full config plus small overrides ----------------------

TINY = [c for c in CONFIGS if c.startswith('tiny/')]
# the full ReLU config each tiny ReLU config inherits; an ACON tiny config's full
# counterpart is the ACON twin of that (same activation tag)
TINY_FULL = {
    'tiny/retinanet_r18-relu_fpn_tiny-coco.py': 'retinanet/retinanet_r50-relu_fpn_1x_coco.py',
    'tiny/pspnet_r18-d8-relu_tiny-cityscapes.py':
        'pspnet/pspnet_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py',
    'tiny/pspnet_r18-d8-relu_tiny-ade20k.py':
        'pspnet/pspnet_r50-d8-relu_4xb4-80k_ade20k-512x512.py',
    'tiny/resnet18-w32-relu_tiny-imagenet.py':
        'imagenet/resnet18-relu_8xb32-linear-600k_in1k.py',
}
# top-level keys a tiny config may add to its full config's
TINY_NEW_KEYS = {'randomness', 'metainfo'}


def _full_of(rel: str) -> str:
    relu = _acon_sibling(rel) or rel
    full = TINY_FULL[relu]
    tag = ACON_TAG.search(rel)
    return full.replace('-relu', tag.group(0), 1) if tag else full


def _all_keys(node, path=''):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f'{path}.{key}' if path else str(key)
            yield from _all_keys(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _all_keys(value, f'{path}[{i}]')


def test_tiny_configs_found():
    assert sorted(TINY_FULL) == sorted(c for c in TINY if not _acon_sibling(c))
    assert len(TINY) == 11
    for rel in TINY:
        assert _full_of(rel) in CONFIGS, rel


@pytest.mark.parametrize('rel', TINY)
def test_tiny_config_is_its_full_config_plus_overrides(rel):
    tiny, full = load(rel), load(_full_of(rel))
    # no helper keys left behind (the former tiny_* variables did nothing when set)
    keys = list(_all_keys(tiny.to_dict()))
    assert not [k for k in keys if re.search(r'(^|\.)_*tiny', k)], rel
    assert not re.search(r'(^|[\s{(,])_*tiny_\w*\s*=', tiny.pretty_text), rel
    assert set(tiny.keys()) - set(full.keys()) <= TINY_NEW_KEYS, rel
    # the same network family, input convention, activation and no-decay rule
    for path in ('model.type', 'model.backbone.type', 'model.neck.type',
                 'model.bbox_head.type', 'model.decode_head.type',
                 'model.auxiliary_head.type', 'model.data_preprocessor.type',
                 'model.data_preprocessor.mean', 'model.data_preprocessor.std',
                 'model.data_preprocessor.bgr_to_rgb', 'model.backbone.style',
                 'model.backbone.conv_bias', 'model.backbone.strides',
                 'model.backbone.dilations', 'optim_wrapper.constructor',
                 'optim_wrapper.optimizer.type', 'default_scope', 'custom_imports'):
        assert _get(tiny, path) == _get(full, path), f'{rel}: {path}'
    tiny_act, full_act = tiny.model.backbone.act_cfg, full.model.backbone.act_cfg
    assert (tiny_act and tiny_act.type) == (full_act and full_act.type), rel
    # small: ResNet-18 at width 32, stem written out (mmseg's ResNet defaults it to 64)
    backbone = tiny.model.backbone
    assert (backbone.depth, backbone.base_channels, backbone.stem_channels) == (18, 32, 32)
    assert isinstance(tiny.randomness.seed, int), f'{rel}: no randomness.seed'
    assert 'SyncBN' not in tiny.pretty_text, f'{rel}: SyncBN needs CUDA'


def _get(cfg, path):
    node = cfg
    for key in path.split('.'):
        if not isinstance(node, dict) or key not in node:
            return '<absent>'
        node = node[key]
    return node


@pytest.mark.parametrize('rel', TINY)
def test_tiny_max_iters_from_the_command_line_sets_the_run(rel):
    """``--cfg-options train_cfg.max_iters=20``: the loop, LR decay, checkpoint follow."""
    cfg = load(rel)
    default_iters = cfg.train_cfg.max_iters
    cfg.merge_from_dict({'train_cfg.max_iters': 20})  # what tools/train.py does
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 20
    # iteration-based: an infinite sampler, so mmengine never restarts the loader (2 s)
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler', rel
    *warmups, decay = cfg.param_scheduler  # tiny ImageNet: the official linear decay only
    for sched in (*warmups, decay):
        assert sched.by_epoch is False and sched.begin == 0, f'{rel}: {sched}'
    # no `end`: mmengine's runner ends the decay at the loop's max_iters
    assert 'end' not in decay and decay.type in ('PolyLR', 'LinearLR'), f'{rel}: {decay}'
    assert all(w.type == 'LinearLR' and w.end < default_iters for w in warmups), rel
    # checkpoint and validation at the last iteration whatever max_iters
    ckpt = cfg.default_hooks.checkpoint
    assert ckpt.by_epoch is False and ckpt.get('save_last', True) is True, rel
    assert cfg.train_cfg.val_interval >= 1 and cfg.log_processor.by_epoch is False


def _tiny_backbone_shapes(rel):
    cfg = load(rel)
    scope = _scope(cfg)
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmdet.registry import MODELS
    backbone = MODELS.build(ConfigDict(cpu_cfg(cfg.model.backbone.to_dict())))
    return {k: tuple(v.shape) for k, v in backbone.state_dict().items()}


@pytest.mark.parametrize('act', ['relu', 'metaacon'])
def test_tiny_det_and_seg_backbones_have_the_same_tensors(act):
    """One tiny ImageNet checkpoint must fit the detection and segmentation backbones."""
    det = _tiny_backbone_shapes(f'tiny/retinanet_r18-{act}_fpn_tiny-coco.py')
    for seg in (f'tiny/pspnet_r18-d8-{act}_tiny-cityscapes.py',
                f'tiny/pspnet_r18-d8-{act}_tiny-ade20k.py'):
        assert _tiny_backbone_shapes(seg) == det, seg
    assert det['conv1.weight'] == (32, 3, 7, 7)
    assert any('.p1' in k for k in det) == (act != 'relu')
