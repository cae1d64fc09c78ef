# ShuffleNetV2 0.5x with Meta-ACON (r=8, as the official 0.5x model) in place of
# every ReLU, on ImageNet-1k in the official recipe:
# shufflenetv2-0.5x-relu_16xb64-linear-300k_in1k.py with the activation.
# Paper: 34.8 % top-1 error; official checkpoint shufflenetv2.0.5.metaacon.pth.
_base_ = './shufflenetv2-0.5x-relu_16xb64-linear-300k_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='MetaAconC')))
