# RetinaNet R-50 FPN 1x COCO with ACON-C after each bottleneck's 3x3 conv
# (the paper's detection setting), from the official ImageNet ResNet-50 ACON-C.
_base_ = './retinanet_r50-relu_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='AconC'),
        # Backbone-only (no prefix): official res50.acon.pth converted by
        # tools/model_converters/acon2mmacon.py (see README.md).
        init_cfg=dict(
            checkpoint='checkpoints/res50.acon_mmacon.pth',
            prefix=None)))
