# Tiny-ImageNet ResNet-18 overrides, shared by configs/tiny/resnet18-w32-*_tiny-imagenet.py.
#
# mmengine refuses a key defined by two sibling bases, so every key here is
# prefixed ``tiny_`` and each tiny config applies them with
#     model = {{_base_.tiny_model}}
# on top of the full config it inherits (configs/imagenet/resnet18-*): the
# network stays the full config's (AconResNet-18, conv biases, act_cfg, official
# no-decay rule, linear lr decay), at width 32 (base and stem, as the tiny
# RetinaNet / PSPNet backbones), trained on data/tiny_imagenet
# (tools/misc/make_tiny_datasets.py --sets imagenet) for a few hundred
# iterations on CPU. Its checkpoint (iter_<max_iters>.pth) initialises the tiny
# downstream backbones with
#     init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')
tiny_data_root = 'data/tiny_imagenet/'
tiny_classes = ('square', 'circle', 'triangle', 'diamond', 'ellipse')
tiny_max_iters = 300
tiny_batch_size = 16  # Meta-ACON's BN generator needs >= 2 per process

tiny_data_preprocessor = dict(num_classes=len(tiny_classes))
tiny_model = dict(
    backbone=dict(
        # explicit: the stem width default differs between scopes
        stem_channels=32,
        base_channels=32),
    head=dict(num_classes=len(tiny_classes), in_channels=256, topk=(1, )))

_tiny_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
_tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
tiny_train_dataloader = dict(
    batch_size=tiny_batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        pipeline=_tiny_train_pipeline))
tiny_val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=tiny_data_root,
        metainfo=dict(classes=tiny_classes),
        pipeline=_tiny_test_pipeline))
tiny_val_evaluator = dict(type='Accuracy', topk=(1, ))

tiny_optim_wrapper = dict(optimizer=dict(lr=0.1))
tiny_param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False,
         begin=0, end=tiny_max_iters)
]
tiny_train_cfg = dict(max_iters=tiny_max_iters, val_interval=tiny_max_iters)
tiny_default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=tiny_max_iters, max_keep_ckpts=1))
tiny_env_cfg = dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=1),
                    dist_cfg=dict(backend='gloo'))
tiny_auto_scale_lr = dict(enable=False, base_batch_size=tiny_batch_size)
tiny_randomness = dict(seed=0, deterministic=False)
