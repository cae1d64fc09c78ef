# Tiny RetinaNet (AconResNet-18 at width 32, ACON-C) on data/tiny_coco: its ReLU
# twin retinanet_r18-relu_fpn_tiny-coco.py with the activation of the full
# configs/retinanet/retinanet_r50-aconc_fpn_1x_coco.py.
_base_ = './retinanet_r18-relu_fpn_tiny-coco.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='AconC')))
