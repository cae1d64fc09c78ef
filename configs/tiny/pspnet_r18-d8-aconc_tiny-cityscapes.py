# Tiny PSPNet (dilated AconResNet-18 at width 32, ACON-C) on data/tiny_cityscapes:
# its ReLU twin pspnet_r18-d8-relu_tiny-cityscapes.py with the activation of the
# full configs/pspnet/pspnet_r50-d8-aconc_4xb2-80k_cityscapes-512x1024.py.
_base_ = './pspnet_r18-d8-relu_tiny-cityscapes.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='AconC')))
