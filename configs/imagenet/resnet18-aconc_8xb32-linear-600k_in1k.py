# ResNet-18 with ACON-C for both activations of every BasicBlock
# (acon1 after conv1/bn1, acon2 after the residual addition), on ImageNet-1k in
# the official ACON recipe: resnet18-relu_8xb32-linear-600k_in1k.py with the
# activation. Not released by the authors (their BasicBlock exists in code only).
_base_ = './resnet18-relu_8xb32-linear-600k_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='AconC')))
