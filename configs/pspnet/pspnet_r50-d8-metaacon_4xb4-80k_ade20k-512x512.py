# PSPNet R-50-D8 512x512 80k ADE20K with Meta-ACON (channel-wise generator,
# r=16) after each bottleneck's 3x3 conv, from the official ImageNet
# ResNet-50 Meta-ACON.
_base_ = './pspnet_r50-d8-relu_4xb4-80k_ade20k-512x512.py'

# Generators' BN synchronised across GPUs like the rest of the backbone
# (mmseg trains with norm_eval=False).
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='MetaAconC', norm_cfg=norm_cfg),
        init_cfg=dict(
            checkpoint='checkpoints/res50.metaacon_mmacon.pth',
            prefix=None)))
