# RetinaNet TFNet 1.5 FPN 1x COCO: TFNet (ACON-FReLU everywhere but the stem,
# Ma et al., CVPR 2021) as a light detection backbone. TFNet has no ReLU
# version of itself; its ReLU baseline is the ShuffleNetV2 1.5x config this
# file inherits (similar FLOPs: 279M vs 299M; the paper's TFNet comparison):
# same detector, input and schedule, only the backbone and the FPN inputs differ.
_base_ = './retinanet_shufflenetv2-1.5x-relu_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TFNet',
        widen_factor=1.5,
        out_indices=(1, 2, 3),  # stages 2-4: 96, 192, 384 ch at 1/8-1/32
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # BN layers keep their ImageNet statistics
        # Backbone-only (no prefix): official tfnet.1.5.pth converted by
        # tools/model_converters/acon2mmacon.py, or the checkpoint of
        # configs/imagenet/tfnet-1.5x_16xb64-linear-300k_in1k.py with
        # prefix='backbone.' (see README.md).
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/tfnet.1.5_mmacon.pth',
            prefix=None)),
    neck=dict(in_channels=[96, 192, 384]))
