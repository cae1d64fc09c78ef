# Faster R-CNN R-50 FPN 1x COCO:
# the ReLU baseline of faster-rcnn_r50-metaacon_fpn_1x_coco.py.
# Same network with ``act_cfg=None`` (ReLU), so a comparison differs only in
# the activation (and the ImageNet weights).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/acon_runtime.py',
]

model = dict(
    # The official ACON ImageNet models were trained on BGR pixels in 0-255
    # without mean/std normalisation; keep that input here.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
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
