# ResNet-50 ReLU on ImageNet-1k in the official ACON recipe (Ma et al., CVPR
# 2021): batch 256 (8 GPUs x 32), 600k iterations, SGD lr 0.1 decayed linearly
# to 0, momentum 0.9, weight decay 1e-4 on conv/linear weights only (no decay on
# biases, BN, p1/p2/beta), BGR 0-255 input. Augmentation and evaluation stay
# mmpretrain's (random resized crop 224 + flip; resize 256, center crop 224).
#
# This is the ReLU baseline the downstream ResNet-50 configs start from
# (configs/retinanet, faster_rcnn, mask_rcnn, pspnet, deeplabv3plus, upernet:
# checkpoints/resnet50-relu_8xb32-linear-600k_in1k.pth, prefix 'backbone.').
_base_ = './resnet50-relu_8xb32_in1k.py'

train_dataloader = dict(sampler={{_base_.acon_iter_sampler}})
optim_wrapper = {{_base_.acon_resnet_optim_wrapper}}
param_scheduler = {{_base_.acon_resnet_schedule.param_scheduler}}
train_cfg = {{_base_.acon_resnet_schedule.train_cfg}}
default_hooks = {{_base_.acon_resnet_schedule.default_hooks}}
log_processor = {{_base_.acon_iter_log_processor}}
