"""The ImageNet configs carry the recipes they name: the official ACON recipe (batch,
iterations, lr, linear decay, weight decay only on conv/linear weights, label smoothing,
BGR 0-255 input) and, for ResNet-50, mmpretrain's standard one."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from test_configs import CONFIGS, cpu_cfg, load

OFFICIAL = [c for c in CONFIGS if c.startswith('imagenet/') and '-linear-' in c]
STANDARD = [c for c in CONFIGS if c.startswith('imagenet/') and '-linear-' not in c]
# (total batch, iterations, lr, weight decay, label smoothing) of the official recipes
RESNET = (256, 600000, 0.1, 1e-4, None)
LIGHT = (1024, 300000, 0.5, 4e-5, 0.1)
GPUS = {'8xb32': 8, '16xb64': 16}


def _optimizer_groups(rel):
    """{parameter name: (weight decay, parameter)} of the optimizer the config builds."""
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import MODELS
    cfg = load(rel)
    init_default_scope('mmpretrain')
    model_cfg = ConfigDict(cpu_cfg(cfg.model.to_dict()))
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model = MODELS.build(model_cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    params = dict(model.named_parameters())
    names = {id(p): n for n, p in params.items()}
    groups = {names[id(p)]: (g['weight_decay'], p)
              for g in wrapper.optimizer.param_groups for p in g['params']}
    assert groups.keys() == params.keys(), rel
    return cfg, groups


def test_configs_found():
    assert len(OFFICIAL) >= 13 and len(STANDARD) == 3


@pytest.mark.parametrize('rel', OFFICIAL)
def test_official_recipe_numbers(rel):
    cfg = load(rel)
    batch, iters, lr, wd, smooth = RESNET if rel.startswith('imagenet/resnet') else LIGHT
    gpus = GPUS[rel.split('_')[1].split('-')[0]]
    assert gpus * cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == batch
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == iters
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', lr, 0.9, wd)
    sched, = cfg.param_scheduler
    assert (sched.type, sched.start_factor, sched.end_factor, sched.by_epoch) == \
        ('LinearLR', 1.0, 0.0, False)
    assert (sched.begin, sched.end) == (0, iters)
    loss = cfg.model.head.loss
    if smooth is None:
        assert loss.type == 'CrossEntropyLoss'
    else:
        assert (loss.type, loss.label_smooth_val) == ('LabelSmoothLoss', smooth)
    assert cfg.default_hooks.checkpoint.by_epoch is False and cfg.log_processor.by_epoch is False


@pytest.mark.parametrize('rel', OFFICIAL + STANDARD)
def test_bgr_0_255_input(rel):
    pre = load(rel).data_preprocessor
    assert (list(pre.mean), list(pre.std), pre.to_rgb) == ([0., 0., 0.], [1., 1., 1.], False)
    assert pre.num_classes == 1000


@pytest.mark.parametrize('rel', [
    'imagenet/resnet50-metaacon_8xb32-linear-600k_in1k.py',
    'imagenet/resnet18-aconc_8xb32-linear-600k_in1k.py',
    'imagenet/shufflenetv2-0.5x-metaacon_16xb64-linear-300k_in1k.py',
    'imagenet/tfnet-1.5x_16xb64-linear-300k_in1k.py',
    'imagenet/mobilenetv2-metaacon_16xb64-linear-300k_in1k.py',
])
def test_official_weight_decay_only_on_conv_and_linear_weights(rel):
    """As the official code: decay iff the name ends in 'weight' and ndim > 1."""
    torch.set_num_threads(1)
    cfg, groups = _optimizer_groups(rel)
    base = cfg.optim_wrapper.optimizer.weight_decay
    wrong = {n: wd for n, (wd, p) in groups.items()
             if wd != (base if n.endswith('.weight') and p.ndim > 1 else 0.)}
    assert not wrong, wrong
    decayed = [n for n, (wd, _) in groups.items() if wd]
    assert any('head.fc.weight' == n for n in decayed)
    if 'aconc' in rel or 'metaacon' in rel:
        assert [n for n in groups if n.endswith(('.p1', '.p2'))]
    if 'metaacon' in rel:  # the generators' 1x1 convs are ordinary weights
        assert [n for n in decayed if n.endswith('.fc1.weight')]


def test_standard_recipe_decays_everything_but_acon_parameters():
    rel = 'imagenet/resnet50-aconc_8xb32_in1k.py'
    torch.set_num_threads(1)
    cfg, groups = _optimizer_groups(rel)
    base = cfg.optim_wrapper.optimizer.weight_decay
    acon = {n for n in groups if n.endswith(('.p1', '.p2', '.beta'))}
    assert acon and all(groups[n][0] == 0 for n in acon)
    assert all(wd == base for n, (wd, _) in groups.items() if n not in acon)
    assert cfg.train_cfg.by_epoch and cfg.param_scheduler.type == 'MultiStepLR'
