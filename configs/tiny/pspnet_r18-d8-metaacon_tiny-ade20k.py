# Tiny PSPNet (dilated AconResNet-18 at width 32, Meta-ACON) on data/tiny_ade20k:
# its ReLU twin pspnet_r18-d8-relu_tiny-ade20k.py with the activation of the full
# configs/pspnet/pspnet_r50-d8-metaacon_4xb4-80k_ade20k-512x512.py, whose
# generator norm is the tiny configs' BN instead of SyncBN.
_base_ = './pspnet_r18-d8-relu_tiny-ade20k.py'

model = dict(
    backbone=dict(
        act_cfg=dict(
            _delete_=True,
            type='MetaAconC',
            norm_cfg=dict(type='BN', requires_grad=True))))
