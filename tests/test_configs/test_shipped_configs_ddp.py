"""The shipped configs train as shipped under 2-process DDP, and test.

Each config runs ``tools/dist_train.sh CONFIG 2`` (gloo on CPU) for 3 iterations on the
generated tiny sets, then ``tools/test.py`` on the checkpoint; only data, image scale,
batch, run length and absent checkpoints are overridden (``shipped_ddp.py`` says which
key and why). The model, ``frozen_stages``, ``norm_eval``, conv biases, SyncBN, the
optimizer constructor, ``paramwise_cfg``, hooks and ``find_unused_parameters`` are the
config's.

``make test`` runs one config per model family (``shipped_ddp.FAMILY_CONFIGS``);
``make test-configs`` (``MMACON_SHIPPED_CONFIGS=all``) runs every config under
``configs/``, ``configs/tiny`` included.
"""
import math
import os
import re

import pytest
import torch

from mmacon.utils.checkpoint import load_checkpoint_file
from tests.test_configs import shipped_ddp
from tests.test_configs.test_configs import BATCHES, CONFIGS, IMG, build_model, load

ALL = os.environ.get('MMACON_SHIPPED_CONFIGS', '') == 'all'
SELECTED = CONFIGS if ALL else shipped_ddp.FAMILY_CONFIGS


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    return shipped_ddp.make_data(str(tmp_path_factory.mktemp('shipped_data')))


def test_family_configs_are_shipped():
    assert len(shipped_ddp.FAMILY_CONFIGS) == 11
    assert set(shipped_ddp.FAMILY_CONFIGS) <= set(CONFIGS)
    for family in ('retinanet_r50-metaacon', 'retinanet_r50-relu', 'faster-rcnn',
                   'mask-rcnn', 'pspnet_r50-d8-metaacon_4xb2-80k_cityscapes', 'deeplabv3plus',
                   'upernet', 'imagenet/resnet50-metaacon_8xb32-linear', 'shufflenetv2',
                   'tfnet', 'mobilenetv2'):
        assert any(family in c for c in shipped_ddp.FAMILY_CONFIGS), family


def _metric_keys(cfg) -> tuple:
    keys = ['coco/bbox_mAP'] if cfg.default_scope == 'mmdet' else []
    if cfg.default_scope == 'mmdet' and 'segm' in str(cfg.test_evaluator.get('metric')):
        keys.append('coco/segm_mAP')
    if cfg.default_scope == 'mmseg':
        keys += ['mIoU', 'aAcc']
    if cfg.default_scope == 'mmpretrain':
        keys += [f'accuracy/top{k}' for k in cfg.test_evaluator.get('topk', (1, ))]
    return tuple(keys)


def _has_sync_bn(node) -> bool:
    if isinstance(node, dict):
        return node.get('type') in ('SyncBN', 'MMSyncBN') or any(
            _has_sync_bn(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_has_sync_bn(v) for v in node)
    return False


@pytest.mark.slow
@pytest.mark.xdist_group('shipped_configs_ddp')  # one after another: each uses 2 cores
@pytest.mark.parametrize('rel', SELECTED)
def test_shipped_config_trains_3_iters_under_ddp_and_tests(rel, data_roots, tmp_path,
                                                           record_property):
    if torch.cuda.is_available():
        pytest.skip('checks the CPU (gloo) path')
    shipped = load(rel)
    result = shipped_ddp.run_config(rel, data_roots, str(tmp_path))
    for key, seconds in result.times.items():  # wall and CPU seconds (--junitxml)
        record_property(key, round(seconds, 1))
    log = result.train_log

    # 2 processes over gloo, each on CPU, and rank 0 logs the SyncBN conversion
    assert 'Distributed training: True' in log and 'Process number: 2' in log, rel
    assert "'backend': 'gloo'" in log, rel
    if _has_sync_bn(shipped.model.to_dict()):
        assert re.search(r'converted \d+ SyncBN layers to BN', log), rel

    # 3 iterations, each with finite losses
    steps = [r for r in result.losses if 'loss' in r]
    assert [r['step'] for r in steps] == [1, 2, 3], (rel, result.losses)
    for record in steps:
        losses = {k: v for k, v in record.items() if k.startswith('loss')}
        assert losses and all(map(math.isfinite, losses.values())), (rel, record)
    assert re.search(r'(Iter\(train\) \[3/3\]|Epoch\(train\) +\[1\]\[3/3\])', log), rel
    ckpt = load_checkpoint_file(result.checkpoint)  # weights_only, the allow-list added
    assert ckpt['meta']['iter'] == shipped_ddp.ITERS, rel
    bad = [k for k, v in ckpt['state_dict'].items()
           if v.is_floating_point() and not torch.isfinite(v).all()]
    assert not bad, (rel, bad[:8])

    # tools/test.py on that checkpoint reports the package's metrics, finite
    assert 'Load checkpoint from ' + result.checkpoint in result.test_log, rel
    for key in _metric_keys(shipped):
        assert key in result.metrics, (rel, key, result.metrics)
        assert shipped_ddp.finite(result.metrics[key]), (rel, key, result.metrics)


# the light-backbone detectors (built but unused conv_last / conv2) and the DDP runs'
# configs; every config under MMACON_SHIPPED_CONFIGS=all (a backward of each: ~2 CPU-s)
UNUSED_CHECK = CONFIGS if ALL else sorted(set(SELECTED) | {
    c for c in CONFIGS if c.startswith('retinanet/') and '_r50-' not in c})


@pytest.mark.parametrize('rel', UNUSED_CHECK)
def test_find_unused_parameters_set_exactly_where_parameters_go_unused(rel):
    """DDP needs ``find_unused_parameters=True`` when a trainable parameter gets no
    gradient (a conv_last that out_indices leaves out), and it costs a graph traversal
    per iteration otherwise: the config sets it iff one loss backward leaves a trainable
    parameter without gradient. (The DDP runs above prove the setting suffices.)"""
    cfg, model = build_model(rel)
    model.train()
    samples = BATCHES[cfg.default_scope](model)
    inputs = [torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8) for _ in samples]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
    total, _ = model.parse_losses(model(**data, mode='loss'))
    total.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    wanted = bool(cfg.get('find_unused_parameters', False))
    assert bool(unused) == wanted, (
        f'{rel}: find_unused_parameters={wanted}, parameters without gradient: '
        f'{unused[:8]}{" ..." if len(unused) > 8 else ""}')
