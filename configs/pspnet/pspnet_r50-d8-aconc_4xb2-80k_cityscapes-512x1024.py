# PSPNet R-50-D8 512x1024 80k Cityscapes with ACON-C after each bottleneck's
# 3x3 conv (the paper's segmentation setting), from the official ImageNet
# ResNet-50 ACON-C.
_base_ = './pspnet_r50-d8-relu_4xb2-80k_cityscapes-512x1024.py'

model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='AconC'),
        # Backbone-only (no prefix): official res50.acon.pth converted by
        # tools/model_converters/acon2mmacon.py (see README.md).
        init_cfg=dict(
            checkpoint='checkpoints/res50.acon_mmacon.pth',
            prefix=None)))
