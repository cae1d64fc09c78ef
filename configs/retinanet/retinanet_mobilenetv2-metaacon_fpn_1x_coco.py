# RetinaNet MobileNetV2 1.0x FPN 1x COCO with Meta-ACON (r=16) in place of
# every ReLU6, from configs/imagenet/mobilenetv2-metaacon_16xb64-linear-300k_in1k.py.
# The backbone keeps norm_eval=True: the generators' BN layers use their
# ImageNet statistics, so the 2 images per GPU do not drive them.
_base_ = './retinanet_mobilenetv2-relu6_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        act_cfg=dict(_delete_=True, type='MetaAconC'),
        init_cfg=dict(
            checkpoint='checkpoints/mobilenetv2-metaacon_16xb64-linear-300k_in1k.pth')))
