# Tiny ImageNet pretraining of AconResNet-18 at width 32 (ReLU) on
# data/tiny_imagenet (tools/misc/make_tiny_datasets.py --sets imagenet: 5 shape
# classes, 64x64): the full configs/imagenet/resnet18-relu_8xb32-linear-600k_in1k.py
# (official recipe: linear lr decay to 0, weight decay only on conv/linear
# weights, BGR 0-255 input, no-decay constructor) with small overrides: data,
# width, 300 iterations on CPU. Its backbone is the one of the tiny RetinaNet /
# PSPNet ReLU configs, which load its checkpoint (iter_<max_iters>.pth) with
#     init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')
#
# `--cfg-options train_cfg.max_iters=N` sets the run length: the LR decay ends at
# N (LinearLR without `end` ends at the loop's max_iters), and the checkpoint and
# validation come at the last iteration whatever N.
_base_ = '../imagenet/resnet18-relu_8xb32-linear-600k_in1k.py'

metainfo = dict(classes=('square', 'circle', 'triangle', 'diamond', 'ellipse'))

data_preprocessor = dict(num_classes=5)  # metainfo.classes
model = dict(
    backbone=dict(
        stem_channels=32,  # = base_channels, written out: the stem width default
        base_channels=32),  # differs between scopes; tiny backbones must match
    head=dict(num_classes=5, in_channels=256, topk=(1, )))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16,  # Meta-ACON's BN generator needs >= 2 per process
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='data/tiny_imagenet/', metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='data/tiny_imagenet/', metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

train_cfg = dict(max_iters=300, val_interval=300)
optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=0)
]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=300, max_keep_ckpts=1))
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1),
               dist_cfg=dict(backend='gloo'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
randomness = dict(seed=0)
