# Tiny RetinaNet (AconResNet-18 at width 32, ACON-C) on data/tiny_coco: the full
# configs/retinanet/retinanet_r50-aconc_fpn_1x_coco.py made small (see
# _base_/tiny_coco_retinanet.py). CPU smoke test / demo, from scratch.
_base_ = [
    '../retinanet/retinanet_r50-aconc_fpn_1x_coco.py',
    './_base_/tiny_coco_retinanet.py',
]

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
log_processor = {{_base_.tiny_log_processor}}
env_cfg = {{_base_.tiny_env_cfg}}
auto_scale_lr = {{_base_.tiny_auto_scale_lr}}
