# Tiny PSPNet (dilated AconResNet-18 at width 32, Meta-ACON) on data/tiny_cityscapes:
# its ReLU twin pspnet_r18-d8-relu_tiny-cityscapes.py with the activation of the full
# configs/pspnet/pspnet_r50-d8-metaacon_4xb2-80k_cityscapes-512x1024.py, whose
# generator norm is the tiny configs' BN instead of SyncBN.
_base_ = './pspnet_r18-d8-relu_tiny-cityscapes.py'

model = dict(
    backbone=dict(
        act_cfg=dict(
            _delete_=True,
            type='MetaAconC',
            norm_cfg=dict(type='BN', requires_grad=True))))
