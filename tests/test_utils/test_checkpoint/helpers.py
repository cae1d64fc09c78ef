"""Checkpoints of the kinds mmengine writes, for the checkpoint tests."""
import numpy as np
import torch
from mmengine.logging import MessageHub


class Payload:
    """Any class not on the allow-list."""

    def __init__(self):
        self.value = 1


def message_hub_state():
    hub = MessageHub.get_instance('mmacon-test-safe-globals')
    for i in range(3):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
        hub.update_scalar('train/lr', 0.01)
    hub.update_scalar('coco/bbox_mAP', np.float64(0.25))
    hub.update_info('best_score', np.float64(0.5))
    hub.update_info('iter', 3)
    return hub.state_dict()


def training_checkpoint():
    """What mmengine's CheckpointHook saves: tensors, meta, the message hub."""
    return dict(meta=dict(iter=3, epoch=0, seed=1, mmengine_version='0.10.7'),
                state_dict={'w': torch.ones(2)}, message_hub=message_hub_state(),
                optimizer={'state': {}, 'param_groups': [{'lr': 0.01}]})


def save(obj, tmp_path, name='ckpt.pth'):
    path = tmp_path / name
    torch.save(obj, path)
    return path
