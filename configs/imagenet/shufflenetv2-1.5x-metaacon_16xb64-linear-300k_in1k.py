# ShuffleNetV2 1.5x with Meta-ACON (r=16, as the official 1.5x model) in place of
# every ReLU, on ImageNet-1k in the official recipe:
# shufflenetv2-1.5x-relu_16xb64-linear-300k_in1k.py with the activation.
# Paper: 24.7 % top-1 error; official checkpoint shufflenetv2.1.5.metaacon.pth.
_base_ = './shufflenetv2-1.5x-relu_16xb64-linear-300k_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='MetaAconC')))
