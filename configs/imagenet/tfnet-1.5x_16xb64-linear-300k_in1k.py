# TFNet 1.5 (ACON-FReLU everywhere but the stem) on ImageNet-1k in the official
# ACON recipe for light models: batch 1024, 300k iterations, lr 0.5 linear
# decay, weight decay 4e-5 on conv/linear weights only, label smoothing 0.1,
# BGR 0-255 input (see shufflenetv2-1.5x-relu_16xb64-linear-300k_in1k.py, its
# ReLU counterpart at similar FLOPs: 279M vs 299M). Paper: 26.0 % top-1 error;
# official checkpoint tfnet.1.5.pth. Other widths: model.backbone.widen_factor
# 0.5 / 1.0 / 2.0 (36.6 / 29.7 / 24.3 %).
_base_ = [
    'mmpretrain::shufflenet_v2/shufflenet-v2-1x_16xb64_in1k.py',
    './_base_/acon_in1k.py',
]

data_preprocessor = {{_base_.acon_data_preprocessor}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='TFNet',
        widen_factor=1.5,
        out_indices=(4, )),  # conv_last: 1024 channels
    head=dict(in_channels=1024, loss={{_base_.acon_label_smooth_loss}}))

train_dataloader = dict(sampler={{_base_.acon_iter_sampler}})
optim_wrapper = {{_base_.acon_light_optim_wrapper}}
param_scheduler = {{_base_.acon_light_schedule.param_scheduler}}
train_cfg = {{_base_.acon_light_schedule.train_cfg}}
default_hooks = {{_base_.acon_light_schedule.default_hooks}}
log_processor = {{_base_.acon_iter_log_processor}}
