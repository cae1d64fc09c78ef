"""Tiny ImageNet pretraining end to end: tools/train.py on a tiny config trains, scores
with mmpretrain's Accuracy, and its checkpoint initialises the tiny RetinaNet and
PSPNet backbones (the demo pipeline's two stages)."""
import os.path as osp
import re

import pytest
import torch

from mmacon.utils.checkpoint import load_checkpoint_file
from tests.test_configs.test_imagenet_checkpoints import assert_loaded, build_downstream_backbone
from tests.test_tools.tool_helpers import REPO, load_tool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]

CONFIG = osp.join(REPO, 'configs', 'tiny', 'resnet18-w32-metaacon_tiny-imagenet.py')
ITERS = 3


def _train(root, work_dir, seed):
    """tools/train.py in this process (its imports are already paid for); the log text."""
    # the run length is one option: LR decay, checkpoint and validation follow it
    options = [f'train_cfg.max_iters={ITERS}', 'train_dataloader.batch_size=4', f'randomness.seed={seed}',
               f'train_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.data_root={root}']
    train = load_tool('tools/train.py')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train.main([CONFIG, '--work-dir', str(work_dir), '--cfg-options'] + options)
    finally:
        torch.set_num_threads(threads)
    logs = sorted(work_dir.glob('*/*.log'))
    assert logs, f'no log in {work_dir}'
    return logs[-1].read_text()


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    from mmacon.tiny_data import make_tiny_imagenet
    root = str(tmp_path_factory.mktemp('data') / 'tiny_imagenet')
    make_tiny_imagenet(root, num_train=12, num_val=5)
    work = tmp_path_factory.mktemp('work')
    logs = [_train(root, work / name, seed=0) for name in ('a', 'b')]
    return work, logs


def test_trains_and_scores_with_mmpretrain_accuracy(pretrained):
    work, logs = pretrained
    assert f'Iter(train) [{ITERS}/{ITERS}]' in logs[0]
    top1 = [re.search(r'Iter\(val\) \[\d+/\d+\]\s+accuracy/top1: ([\d.]+)', log) for log in logs]
    assert all(top1), logs[0][-3000:]
    # 5 val images: top-1 is a multiple of 20 %
    assert float(top1[0].group(1)) in (0., 20., 40., 60., 80., 100.)


def test_same_seed_same_weights(pretrained):
    work, _ = pretrained
    a, b = (load_checkpoint_file(str(work / n / f'iter_{ITERS}.pth'))['state_dict']
            for n in ('a', 'b'))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('rel', ['tiny/retinanet_r18-metaacon_fpn_tiny-coco.py',
                                 'tiny/pspnet_r18-d8-metaacon_tiny-cityscapes.py'])
def test_checkpoint_initialises_tiny_downstream_backbone(pretrained, rel):
    work, _ = pretrained
    path = work / 'a' / f'iter_{ITERS}.pth'
    state = load_checkpoint_file(str(path))['state_dict']
    assert any(k.startswith('head.') for k in state)  # a whole classifier
    backbone = build_downstream_backbone(rel, checkpoint=path)
    backbone.init_weights()
    assert_loaded(backbone, state, f'{path} -> {rel}')
