# ResNet-50 Meta-ACON (r=16) after each bottleneck's 3x3 conv, on ImageNet-1k in
# mmpretrain's standard recipe: resnet50-relu_8xb32_in1k.py with the activation.
_base_ = './resnet50-relu_8xb32_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='MetaAconC')))
