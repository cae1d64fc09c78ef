# Shared by the ImageNet-1k configs of this folder (mmpretrain 1.2).
#
# mmengine refuses a key defined by two sibling bases, so this file, which sits
# next to an mmpretrain config in ``_base_``, sets only ``custom_imports`` and
# ``acon_``-prefixed variables; the configs apply them, e.g.
#     optim_wrapper = {{_base_.acon_resnet_optim_wrapper}}

# Registers AconResNet, AconShuffleNetV2, TFNet, AconMobileNetV2 and the
# activations in mmengine's root MODELS, which mmpretrain's registry falls back to.
custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)

# Input of the official ACON models: BGR pixels in 0-255, no mean/std. Every
# downstream config (configs/retinanet, pspnet, ...) uses the same input, so a
# checkpoint trained here fits them as it is.
acon_data_preprocessor = dict(
    mean=[0., 0., 0.], std=[1., 1., 1.], to_rgb=False)

# p1, p2, beta of ACON-C / Meta-ACON never decay: mmacon's registered
# AconOptimWrapperConstructor (mmacon/engine) finds them by module type and gives
# them weight_decay=0; every other parameter gets mmengine's default group.
acon_constructor = 'AconOptimWrapperConstructor'
# Official recipe on top: weight decay only on parameters named ``weight`` with more
# than one dimension (conv and linear weights, the Meta-ACON generators' fc1/fc2
# included); biases and norm layers get none either.
acon_official_paramwise_cfg = dict(norm_decay_mult=0., bias_decay_mult=0.)


def _official_schedule(iters):
    """Iteration-based training with the official linear decay of the lr to 0."""
    return dict(
        param_scheduler=[
            dict(type='LinearLR', start_factor=1.0, end_factor=0.0,
                 by_epoch=False, begin=0, end=iters)
        ],
        train_cfg=dict(
            _delete_=True, type='IterBasedTrainLoop', max_iters=iters,
            val_interval=iters // 30),
        default_hooks=dict(
            logger=dict(interval=100),
            checkpoint=dict(by_epoch=False, interval=iters // 30,
                            max_keep_ckpts=3)),
    )


# ResNet (official): batch 256, 600k iterations, SGD lr 0.1 momentum 0.9, wd 1e-4.
acon_resnet_iters = 600000
acon_resnet_optim_wrapper = dict(
    constructor=acon_constructor,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=acon_official_paramwise_cfg)
acon_resnet_schedule = _official_schedule(acon_resnet_iters)

# ShuffleNetV2 / TFNet (official), also used for AconMobileNetV2: batch 1024,
# 300k iterations, SGD lr 0.5 momentum 0.9, wd 4e-5, label smoothing 0.1.
acon_light_iters = 300000
acon_light_optim_wrapper = dict(
    constructor=acon_constructor,
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=acon_official_paramwise_cfg)
acon_light_schedule = _official_schedule(acon_light_iters)
acon_label_smooth_loss = dict(
    type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0)

# Iteration-based runs draw batches from an infinite sampler and log by iteration.
acon_iter_sampler = dict(type='InfiniteSampler', shuffle=True)
acon_iter_log_processor = dict(by_epoch=False)
del _official_schedule
