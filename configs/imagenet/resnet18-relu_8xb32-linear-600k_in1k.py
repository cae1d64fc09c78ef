# ResNet-18 ReLU on ImageNet-1k in the official ACON ResNet recipe (batch 256,
# 600k iterations, lr 0.1 linear decay, weight decay 1e-4 on conv/linear
# weights only, BGR 0-255 input; see resnet50-relu_8xb32-linear-600k_in1k.py).
# No ResNet-18 ACON model was released: the ACON-C / Meta-ACON configs next to
# this one are how to obtain them. Same network as the downstream ResNet-18
# (a bias on every conv, as the official ResNets; BasicBlocks have no stride
# choice to make).
_base_ = [
    'mmpretrain::resnet/resnet18_8xb32_in1k.py',
    './_base_/acon_in1k.py',
]

data_preprocessor = {{_base_.acon_data_preprocessor}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='AconResNet',
        depth=18,
        stem_channels=64,
        base_channels=64,
        out_indices=(3, ),
        style='caffe',
        conv_bias=True,
        act_cfg=None))  # plain ReLU

train_dataloader = dict(sampler={{_base_.acon_iter_sampler}})
optim_wrapper = {{_base_.acon_resnet_optim_wrapper}}
param_scheduler = {{_base_.acon_resnet_schedule.param_scheduler}}
train_cfg = {{_base_.acon_resnet_schedule.train_cfg}}
default_hooks = {{_base_.acon_resnet_schedule.default_hooks}}
log_processor = {{_base_.acon_iter_log_processor}}
