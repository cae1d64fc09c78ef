# DeepLabV3+ R-50-D8 512x1024 80k Cityscapes with Meta-ACON (channel-wise
# generator, r=16) after each bottleneck's 3x3 conv, from the official
# ImageNet ResNet-50 Meta-ACON.
_base_ = './deeplabv3plus_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py'

# mmseg trains the backbone with norm_eval=False; the generators' BN must
# synchronise across GPUs like the rest (a per-GPU BN over a few pooled
# vectors is unstable, over 1 it fails).
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='MetaAconC', norm_cfg=norm_cfg),
        # Backbone-only (no prefix): official res50.metaacon.pth converted by
        # tools/model_converters/acon2mmacon.py (see README.md).
        init_cfg=dict(
            checkpoint='checkpoints/res50.metaacon_mmacon.pth',
            prefix=None)))
