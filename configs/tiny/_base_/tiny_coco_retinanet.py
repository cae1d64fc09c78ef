# Tiny-COCO RetinaNet overrides, shared by configs/tiny/retinanet_*.py.
#
# mmengine refuses a key defined by two sibling bases, so every key here is
# prefixed ``tiny_`` and each tiny config applies them with
#     model = {{_base_.tiny_model}}
# on top of the full config it inherits (configs/retinanet/...): the network
# stays the full config's (AconResNet + act_cfg, FPN, RetinaHead, no-decay
# rule), only smaller, trained from scratch on data/tiny_coco
# (tools/misc/make_tiny_datasets.py) for a few hundred iterations on CPU.
tiny_data_root = 'data/tiny_coco/'
tiny_classes = ('square', 'circle', 'triangle')
tiny_img_scale = (160, 128)  # (w, h) of the generated images
tiny_max_iters = 300
tiny_batch_size = 4  # Meta-ACON's BN generator needs >= 2 per process

tiny_model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,  # from scratch: BN statistics must be learned
        init_cfg=None),  # no ImageNet checkpoint
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(
        num_classes=len(tiny_classes),
        in_channels=64,
        feat_channels=64,
        stacked_convs=2),
    test_cfg=dict(max_per_img=20))

_tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=tiny_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
_tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=tiny_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
tiny_train_dataloader = dict(
    batch_size=tiny_batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        filter_cfg=dict(filter_empty_gt=True, min_size=16),
        pipeline=_tiny_train_pipeline))
tiny_val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        pipeline=_tiny_test_pipeline))
tiny_val_evaluator = dict(
    ann_file=tiny_data_root + 'annotations/instances_val2017.json',
    metric='bbox')

tiny_train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=tiny_max_iters,
    val_interval=tiny_max_iters)
tiny_optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10, norm_type=2))
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=tiny_max_iters,
        milestones=[int(tiny_max_iters * 0.8)],
        gamma=0.1)
]
tiny_default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=tiny_max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
tiny_log_processor = dict(by_epoch=False, window_size=20)
tiny_env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
tiny_auto_scale_lr = dict(enable=False, base_batch_size=tiny_batch_size)
