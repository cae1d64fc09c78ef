# PSPNet R-50-D8 512x1024 80k Cityscapes: the ReLU baseline of the ACON
# configs in this folder. Same network as the -aconc / -metaacon configs with
# ``act_cfg=None`` (ReLU), so a comparison differs only in the activation
# (and the ImageNet weights).
#
# Backbone: the official ACON ImageNet models have a torchvision-style 7x7
# stem, so this uses AconResNet (plain stem, mmseg's "ResNetV1b") instead of
# upstream's deep-stem ResNetV1c, whose stem would stay randomly initialised
# with these checkpoints. Dilations/strides are upstream's -D8 ones.
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/acon_runtime.py',
]

model = dict(
    # The official ACON ImageNet models were trained on BGR pixels in 0-255
    # without mean/std normalisation; keep that input here.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
    pretrained=None,  # upstream's open-mmlab://resnet50_v1c; see init_cfg
    backbone=dict(
        type='AconResNet',
        act_cfg=None,  # plain ReLU everywhere
        style='caffe',  # stride on the bottleneck's 1x1 conv1, as official
        conv_bias=True,  # every conv of the official models has a bias
        # A ReLU ResNet-50 trained with the official ACON recipe (not released
        # by the authors): the checkpoint of
        # configs/imagenet/resnet50-relu_8xb32-linear-600k_in1k.py (mmpretrain),
        # whose backbone has exactly these tensors; prefix picks them out.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50-relu_8xb32-linear-600k_in1k.pth',
            prefix='backbone.')))

# p1, p2, beta without weight decay, found by module type (mmacon.engine; a
# no-op for ReLU, kept so that the ACON configs inheriting this file differ from
# it only in the activation).
optim_wrapper = dict(constructor='AconOptimWrapperConstructor')
