# RetinaNet ShuffleNetV2 1.5x FPN 1x COCO with Meta-ACON (r=16, as the
# official 1.5x model) replacing every ReLU of ShuffleNetV2, from the official
# ImageNet ShuffleNetV2 1.5x Meta-ACON.
_base_ = './retinanet_shufflenetv2-1.5x-relu_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='MetaAconC'),
        # Backbone-only (no prefix): official ShuffleNetV2 1.5x Meta-ACON checkpoint converted by
        # tools/model_converters/acon2mmacon.py (see README.md).
        init_cfg=dict(
            checkpoint='checkpoints/shufflenetv2.1.5.metaacon_mmacon.pth',
            prefix=None)))
