# Tiny PSPNet (dilated AconResNet-18 at width 32, ReLU) on data/tiny_cityscapes
# (tools/misc/make_tiny_datasets.py): the full
# configs/pspnet/pspnet_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py (same -D8
# network, PSPHead, FCN auxiliary head, BGR 0-255 input, no-decay constructor)
# with small overrides: data, a small backbone and heads trained from scratch,
# 200 iterations on CPU. Smoke test / demo.
#
# BN instead of the full config's SyncBN everywhere: torch's SyncBatchNorm needs
# CUDA, and the tiny configs must also run distributed on CPU (gloo). 4 crops
# per process keep Meta-ACON's BN generator well defined (it needs >= 2).
#
# `--cfg-options train_cfg.max_iters=N` sets the run length: the LR decay ends
# at N (PolyLR without `end` ends at the loop's max_iters), and the checkpoint
# and validation come at the last iteration whatever N (mmengine's save_last;
# IterBasedTrainLoop validates at max_iters). The warm-up is a fixed 20 iters.
_base_ = '../pspnet/pspnet_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py'

data_root = 'data/tiny_cityscapes/'
# the train ids the tiny scenes use; mmseg maps them to 0..5 (label_map)
metainfo = dict(
    classes=('road', 'building', 'traffic sign', 'sky', 'person', 'car'))
crop_size = (128, 128)  # (h, w); the images are 256x128 (w, h)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=crop_size)

model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        depth=18,
        stem_channels=32,  # = base_channels, written out: mmseg's ResNet stem
        base_channels=32,  # defaults to 64, and det/seg tiny backbones must match
        norm_cfg=norm_cfg,
        init_cfg=None),  # from scratch: no ImageNet checkpoint
    decode_head=dict(
        in_channels=256, channels=64, num_classes=6, norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=128, channels=32, num_classes=6, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(256, 128),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # as upstream's
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=200, val_interval=200)
optim_wrapper = dict(
    optimizer=dict(lr=0.02),
    clip_grad=dict(_delete_=True, max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False, begin=0)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1),
    visualization=dict(draw=False))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
randomness = dict(seed=0)
