# Tiny RetinaNet (AconResNet-18 at width 32, ReLU) on data/tiny_coco
# (tools/misc/make_tiny_datasets.py): the full
# configs/retinanet/retinanet_r50-relu_fpn_1x_coco.py (same detector, BGR 0-255
# input, no-decay constructor) with small overrides: data, a small backbone
# trained from scratch, 300 iterations on CPU. Smoke test / demo.
#
# `--cfg-options train_cfg.max_iters=N` sets the run length: the LR decay ends
# at N (PolyLR without `end` ends at the loop's max_iters), and the checkpoint
# and validation come at the last iteration whatever N (mmengine's save_last;
# IterBasedTrainLoop validates at max_iters). The warm-up is a fixed 50 iters.
_base_ = '../retinanet/retinanet_r50-relu_fpn_1x_coco.py'

data_root = 'data/tiny_coco/'
metainfo = dict(classes=('square', 'circle', 'triangle'))

model = dict(
    backbone=dict(
        depth=18,
        stem_channels=32,  # = base_channels, written out: mmseg's ResNet stem
        base_channels=32,  # defaults to 64, and det/seg tiny backbones must match
        frozen_stages=-1,
        norm_eval=False,  # from scratch: BN statistics must be learned
        init_cfg=None),  # no ImageNet checkpoint
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(
        num_classes=3,  # metainfo.classes
        in_channels=64,
        feat_channels=64,
        stacked_convs=2),
    test_cfg=dict(max_per_img=20))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 128), keep_ratio=True),  # the images' size
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,  # Meta-ACON's BN generator needs >= 2 per process
    num_workers=0,
    persistent_workers=False,
    # iteration-based: no epoch boundary (DefaultSampler would make mmengine
    # restart the loader and sleep 2 s at every pass over the tiny set)
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        filter_cfg=dict(filter_empty_gt=True, min_size=16),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=300, val_interval=300)
optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=2e-4, power=0.9, by_epoch=False, begin=0)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=1),
    visualization=dict(draw=False))
log_processor = dict(by_epoch=False, window_size=20)
env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
auto_scale_lr = dict(enable=False, base_batch_size=4)
randomness = dict(seed=0)
