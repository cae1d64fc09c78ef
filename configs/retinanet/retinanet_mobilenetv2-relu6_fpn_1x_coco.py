# RetinaNet MobileNetV2 1.0x FPN 1x COCO: the plain (ReLU6) baseline of
# retinanet_mobilenetv2-metaacon_fpn_1x_coco.py (same network with
# ``act_cfg=None``), a light-backbone counterpart of the R-50 configs.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/acon_runtime.py',
]

model = dict(
    # The ImageNet configs train on BGR pixels in 0-255 without mean/std
    # normalisation, as the official ACON models; keep that input here.
    data_preprocessor=dict(
        mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='AconMobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),  # layer3/5/7: 32, 96, 320 ch at 1/8-1/32
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # BN layers keep their ImageNet statistics
        act_cfg=None,  # plain ReLU6 everywhere
        # No MobileNet ACON model was released: the checkpoint of
        # configs/imagenet/mobilenetv2-relu6_16xb64-linear-300k_in1k.py.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mobilenetv2-relu6_16xb64-linear-300k_in1k.pth',
            prefix='backbone.')),
    neck=dict(
        in_channels=[32, 96, 320],
        start_level=0,  # the three stages feed P3-P5; P6, P7 from P5 input
        add_extra_convs='on_input',
        num_outs=5))

# p1, p2, beta without weight decay, found by module type (mmacon.engine; a
# no-op for ReLU6, kept so that the ACON config inheriting this file differs
# from it only in the activation).
optim_wrapper = dict(constructor='AconOptimWrapperConstructor')
# conv2 (1280 ch) is built, so the ImageNet checkpoint loads whole, but the FPN
# does not use it: its parameters get no gradient, which DDP must allow.
find_unused_parameters = True
