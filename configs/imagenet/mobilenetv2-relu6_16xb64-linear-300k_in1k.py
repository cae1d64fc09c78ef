# MobileNetV2 1.0x with its plain ReLU6 on ImageNet-1k, trained like the
# official ACON light models (batch 1024 = 16 GPUs x 64, 300k iterations, lr 0.5
# linear decay, weight decay 4e-5 on conv/linear weights only, label smoothing
# 0.1, BGR 0-255 input). The paper reports MobileNet results but released no
# MobileNet code, recipe or checkpoint: this recipe is our choice, and these
# configs are the only source of AconMobileNetV2 weights. Convs are bias-free
# as in mmdet's MobileNetV2 (AconMobileNetV2 has no conv_bias option).
_base_ = [
    'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
    './_base_/acon_in1k.py',
]

data_preprocessor = {{_base_.acon_data_preprocessor}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='AconMobileNetV2',
        widen_factor=1.0,
        out_indices=(7, ),  # conv2: 1280 channels
        act_cfg=None),  # plain ReLU6
    head=dict(in_channels=1280, loss={{_base_.acon_label_smooth_loss}}))

train_dataloader = dict(batch_size=64, sampler={{_base_.acon_iter_sampler}})
optim_wrapper = {{_base_.acon_light_optim_wrapper}}
param_scheduler = {{_base_.acon_light_schedule.param_scheduler}}
train_cfg = {{_base_.acon_light_schedule.train_cfg}}
default_hooks = {{_base_.acon_light_schedule.default_hooks}}
log_processor = {{_base_.acon_iter_log_processor}}
auto_scale_lr = dict(base_batch_size=1024)
