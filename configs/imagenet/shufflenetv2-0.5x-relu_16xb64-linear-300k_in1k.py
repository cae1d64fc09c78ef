# ShuffleNetV2 0.5x ReLU on ImageNet-1k in the official ACON recipe for light
# models: batch 1024 (16 GPUs x 64), 300k iterations, SGD lr 0.5 decayed
# linearly to 0, momentum 0.9, weight decay 4e-5 on conv/linear weights only,
# label smoothing 0.1, BGR 0-255 input. Augmentation and evaluation stay
# mmpretrain's (mmpretrain::shufflenet_v2/shufflenet-v2-1x_16xb64_in1k.py).
# The network is the official one (a bias on every conv), so the checkpoint
# fits AconShuffleNetV2 in the downstream configs (prefix 'backbone.').
# Paper: 39.4 % top-1 error (ReLU).
_base_ = [
    'mmpretrain::shufflenet_v2/shufflenet-v2-1x_16xb64_in1k.py',
    './_base_/acon_in1k.py',
]

data_preprocessor = {{_base_.acon_data_preprocessor}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='AconShuffleNetV2',
        widen_factor=0.5,
        out_indices=(3, ),  # conv_last: 1024 channels
        conv_bias=True,
        act_cfg=None),  # plain ReLU
    head=dict(in_channels=1024, loss={{_base_.acon_label_smooth_loss}}))

train_dataloader = dict(sampler={{_base_.acon_iter_sampler}})
optim_wrapper = {{_base_.acon_light_optim_wrapper}}
param_scheduler = {{_base_.acon_light_schedule.param_scheduler}}
train_cfg = {{_base_.acon_light_schedule.train_cfg}}
default_hooks = {{_base_.acon_light_schedule.default_hooks}}
log_processor = {{_base_.acon_iter_log_processor}}
