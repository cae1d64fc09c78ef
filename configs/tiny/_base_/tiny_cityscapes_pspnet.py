# Tiny-Cityscapes PSPNet overrides, shared by configs/tiny/pspnet_*cityscapes.py.
#
# mmengine refuses a key defined by two sibling bases, so every key here is
# prefixed ``tiny_`` and each tiny config applies them with
#     model = {{_base_.tiny_model}}
# on top of the full config it inherits (configs/pspnet/...): the network
# stays the full config's (dilated AconResNet -D8 + act_cfg, PSPHead, FCN
# auxiliary head, no-decay rule), only smaller, trained from scratch on
# data/tiny_cityscapes (tools/misc/make_tiny_datasets.py) on CPU.
#
# BN instead of the full configs' SyncBN everywhere (incl. Meta-ACON's
# generator): torch's SyncBatchNorm needs CUDA, and the tiny configs must run
# distributed on CPU (gloo) too. 4 crops per process keep Meta-ACON's BN
# generator well defined (it needs >= 2).
tiny_data_root = 'data/tiny_cityscapes/'
# the train ids the tiny scenes use; mmseg maps them to 0..5 (label_map)
tiny_classes = ('road', 'building', 'traffic sign', 'sky', 'person', 'car')
tiny_img_scale = (256, 128)  # (w, h) of the generated images
tiny_crop_size = (128, 128)  # (h, w)
tiny_max_iters = 200
tiny_norm_cfg = dict(type='BN', requires_grad=True)

tiny_model = dict(
    data_preprocessor=dict(size=tiny_crop_size),
    backbone=dict(
        depth=18,
        base_channels=32,
        norm_cfg=tiny_norm_cfg,
        init_cfg=None),  # from scratch: no ImageNet checkpoint
    decode_head=dict(
        in_channels=256,
        channels=64,
        num_classes=len(tiny_classes),
        norm_cfg=tiny_norm_cfg),
    auxiliary_head=dict(
        in_channels=128,
        channels=32,
        num_classes=len(tiny_classes),
        norm_cfg=tiny_norm_cfg))
# Meta-ACON's generator BN (the full config's act_cfg carries SyncBN)
tiny_model_metaacon = dict(
    tiny_model,
    backbone=dict(tiny_model['backbone'], act_cfg=dict(norm_cfg=tiny_norm_cfg)))

_tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=tiny_img_scale,
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=tiny_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
_tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=tiny_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
tiny_train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        pipeline=_tiny_train_pipeline))
tiny_val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        pipeline=_tiny_test_pipeline))

tiny_train_cfg = dict(max_iters=tiny_max_iters, val_interval=tiny_max_iters)
tiny_optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(_delete_=True, max_norm=10, norm_type=2))
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=20,
        end=tiny_max_iters,
        by_epoch=False)
]
tiny_default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=tiny_max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
tiny_env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1))
