# MobileNetV2 1.0x with Meta-ACON (r=16) in place of every ReLU6
# (act_placement='all'), on ImageNet-1k: mobilenetv2-relu6_16xb64-linear-300k_in1k.py
# with the activation. No official counterpart (see that file).
_base_ = './mobilenetv2-relu6_16xb64-linear-300k_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='MetaAconC')))
