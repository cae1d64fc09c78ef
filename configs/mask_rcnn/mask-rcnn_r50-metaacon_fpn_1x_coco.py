# Mask R-CNN R-50 FPN 1x COCO with Meta-ACON (channel-wise
# generator, r=16) after each bottleneck's 3x3 conv, from the
# official ImageNet ResNet-50 Meta-ACON.
#
# The backbone keeps mmdet's ``norm_eval=True``: the generators' BN layers stay
# in eval mode with their ImageNet statistics, so the 2 images per GPU of the
# 1x schedule do not drive them (Meta-ACON's BN is unstable at small batches).
_base_ = './mask-rcnn_r50-relu_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='MetaAconC'),
        # Backbone-only (no prefix): official res50.metaacon.pth converted by
        # tools/model_converters/acon2mmacon.py (see README.md).
        init_cfg=dict(
            checkpoint='checkpoints/res50.metaacon_mmacon.pth',
            prefix=None)))
