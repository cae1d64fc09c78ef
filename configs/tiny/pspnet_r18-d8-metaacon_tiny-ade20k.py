# Tiny PSPNet (dilated AconResNet-18 at width 32, Meta-ACON) on data/tiny_ade20k:
# the full configs/pspnet/pspnet_r50-d8-metaacon_4xb4-80k_ade20k-512x512.py made
# small (see _base_/tiny_ade20k_pspnet.py). CPU smoke test / demo, from scratch.
_base_ = [
    '../pspnet/pspnet_r50-d8-metaacon_4xb4-80k_ade20k-512x512.py',
    './_base_/tiny_ade20k_pspnet.py',
]

model = {{_base_.tiny_model_metaacon}}
train_dataloader = {{_base_.tiny_train_dataloader}}
val_dataloader = {{_base_.tiny_val_dataloader}}
test_dataloader = val_dataloader
train_cfg = {{_base_.tiny_train_cfg}}
optim_wrapper = {{_base_.tiny_optim_wrapper}}
param_scheduler = {{_base_.tiny_param_scheduler}}
default_hooks = {{_base_.tiny_default_hooks}}
env_cfg = {{_base_.tiny_env_cfg}}
