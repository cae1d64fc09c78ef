# Tiny ImageNet pretraining of AconResNet-18 at width 32 (Meta-ACON): the full
# configs/imagenet/resnet18-metaacon_8xb32-linear-600k_in1k.py made small (see
# _base_/tiny_imagenet_resnet.py). Its backbone is the one of the tiny
# RetinaNet / PSPNet Meta-ACON configs, which load its checkpoint with
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
_base_ = [
    '../imagenet/resnet18-metaacon_8xb32-linear-600k_in1k.py',
    './_base_/tiny_imagenet_resnet.py',
]

data_preprocessor = {{_base_.tiny_data_preprocessor}}
model = {{_base_.tiny_model}}
train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.tiny_val_evaluator}}
test_evaluator = val_evaluator
train_cfg = {{_base_.tiny_train_cfg}}
optim_wrapper = {{_base_.tiny_optim_wrapper}}
param_scheduler = {{_base_.tiny_param_scheduler}}
default_hooks = {{_base_.tiny_default_hooks}}
env_cfg = {{_base_.tiny_env_cfg}}
auto_scale_lr = {{_base_.tiny_auto_scale_lr}}
randomness = {{_base_.tiny_randomness}}
