# ResNet-50 ReLU on ImageNet-1k in mmpretrain's standard recipe
# (mmpretrain::resnet/resnet50_8xb32_in1k.py: 100 epochs, step lr, weight decay
# on every parameter but p1/p2/beta, which AconOptimWrapperConstructor exempts),
# with the official ACON network and input: a bias on every conv, stride on the
# bottleneck's 1x1 conv1 (style='caffe'), BGR 0-255 without mean/std. The backbone is the one of every ResNet-50
# downstream config here, so the checkpoint loads into them with
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
# The official ACON recipe is resnet50-relu_8xb32-linear-600k_in1k.py.
_base_ = [
    'mmpretrain::resnet/resnet50_8xb32_in1k.py',
    './_base_/acon_in1k.py',
]

data_preprocessor = {{_base_.acon_data_preprocessor}}
model = dict(
    backbone=dict(
        _delete_=True,
        type='AconResNet',
        depth=50,
        stem_channels=64,
        base_channels=64,
        out_indices=(3, ),
        style='caffe',
        conv_bias=True,
        act_cfg=None))  # plain ReLU

optim_wrapper = dict(constructor={{_base_.acon_constructor}})
