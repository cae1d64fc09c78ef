# Tiny ImageNet pretraining of AconResNet-18 at width 32 (ACON-C): its ReLU twin
# resnet18-w32-relu_tiny-imagenet.py with the activation of the full
# configs/imagenet/resnet18-aconc_8xb32-linear-600k_in1k.py. Its checkpoint
# initialises the tiny RetinaNet / PSPNet ACON-C backbones (prefix 'backbone.').
_base_ = './resnet18-w32-relu_tiny-imagenet.py'

model = dict(backbone=dict(act_cfg=dict(_delete_=True, type='AconC')))
