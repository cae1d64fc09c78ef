# ResNet-50 Meta-ACON (r=16) after each bottleneck's 3x3 conv, on ImageNet-1k in the
# official ACON recipe: resnet50-relu_8xb32-linear-600k_in1k.py with the
# activation. The paper reports 22.0 % top-1 error (ReLU: 24.0 %).
_base_ = './resnet50-relu_8xb32-linear-600k_in1k.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='MetaAconC')))
