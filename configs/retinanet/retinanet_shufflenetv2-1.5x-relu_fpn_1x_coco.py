# RetinaNet ShuffleNetV2 1.5x FPN 1x COCO: the ReLU baseline of
# retinanet_shufflenetv2-1.5x-metaacon_fpn_1x_coco.py (same network with
# ``act_cfg=None``), a light-backbone counterpart of the R-50 configs.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/acon_runtime.py',
]

model = dict(
    # The official ACON ImageNet models were trained on BGR pixels in 0-255
    # without mean/std normalisation; keep that input here.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='AconShuffleNetV2',
        widen_factor=1.5,
        out_indices=(0, 1, 2),  # stages 2-4: 176, 352, 704 ch at 1/8-1/32
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        # BN layers (those of the Meta-ACON generators too) keep their
        # ImageNet statistics, as mmdet's ResNet configs do.
        norm_eval=True,
        act_cfg=None,  # plain ReLU everywhere
        # A ReLU ShuffleNetV2 1.5x trained with the official ACON recipe (not
        # released with ACON): the checkpoint of configs/imagenet/
        # shufflenetv2-1.5x-relu_16xb64-linear-300k_in1k.py (mmpretrain).
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/shufflenetv2-1.5x-relu_16xb64-linear-300k_in1k.pth',
            prefix='backbone.')),
    neck=dict(
        in_channels=[176, 352, 704],
        start_level=0,  # the three stages feed P3-P5; P6, P7 from P5 input
        add_extra_convs='on_input',
        num_outs=5))

# p1, p2, beta without weight decay, found by module type (mmacon.engine; a
# no-op for ReLU, kept so that the ACON configs inheriting this file differ from
# it only in the activation).
optim_wrapper = dict(constructor='AconOptimWrapperConstructor')
# conv_last (out index 3) is built, so the ImageNet checkpoint loads whole, but
# the FPN does not use it: its parameters get no gradient, which DDP must allow.
find_unused_parameters = True
