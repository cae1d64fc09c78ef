"""AconDecayCheckHook through tools/train.py, on a config written as a user would.

The user's config inherits mmdet's RetinaNet and swaps in an ACON-C backbone; with
mmdet's default optimizer (SGD, weight_decay=1e-4, default constructor) every p1, p2
and beta is decayed and the run must say so with the count; with the one-line
constructor it must stay silent.
"""
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmacon.engine import AconDecayCheckHook, add_decay_check, decayed_acon_parameters
from tool_helpers import load_tool

USER_CONFIG = """
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)
train_dataloader = dict(dataset=dict(data_root='{root}/'))
val_dataloader = dict(dataset=dict(data_root='{root}/'))
model = dict(
    backbone=dict(type='AconResNet', depth=18, act_cfg=dict(type='AconC'), init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
"""


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope='module')
def user_run(tmp_path_factory):
    """The runner tools/train.py builds for the user's config, optimizer built.

    The data paths tools/train.py checks up front exist (empty: nothing reads them).
    """
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp('user')
    root = tmp / 'coco'
    (root / 'annotations').mkdir(parents=True)
    for split in ('train2017', 'val2017'):
        (root / split).mkdir()
        (root / 'annotations' / f'instances_{split}.json').write_text('{}')
    config = tmp / 'my_retinanet.py'
    config.write_text(USER_CONFIG.format(root=root))
    train = load_tool('tools/train.py')
    cfg = train.build_cfg(train.parse_args([str(config), '--work-dir', str(tmp / 'work')]))
    assert [h for h in cfg.custom_hooks if h['type'] == 'AconDecayCheckHook'] == \
        [dict(type='AconDecayCheckHook')]
    runner = Runner.from_cfg(cfg)
    # what Runner.train() does before its loop calls the before_train hooks
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    return runner


def _warnings(runner):
    hook, = [h for h in runner.hooks if isinstance(h, AconDecayCheckHook)]
    records = _Records()
    runner.logger.addHandler(records)
    try:
        hook.before_train(runner)
    finally:
        runner.logger.removeHandler(records)
    return [m for m in records.messages if 'ACON parameters' in m]


def _acon_names(model, trainable_only=True):
    return [n for n, p in model.named_parameters()
            if n.rsplit('.', 1)[-1] in ('p1', 'p2', 'beta')
            and (p.requires_grad or not trainable_only)]


def test_default_constructor_warns_with_the_count(user_run):
    messages = _warnings(user_run)
    names = _acon_names(user_run.model)
    n = len(names)
    acons = [m for m in user_run.model.modules() if type(m).__name__ == 'AconC']
    trainable = [m for m in acons if m.p1.requires_grad]
    # mmdet's frozen_stages=1 freezes stage 1 and its ACON: those are not counted
    assert n == 3 * len(trainable) and 0 < len(trainable) < len(acons)
    assert messages == [
        f'{n} of {n} ACON parameters (p1, p2, beta) are weight-decayed (e.g. '
        f'{names[0]} with weight_decay=0.0001); the ACON paper trains them '
        'without weight decay (decaying them hurts). Set optim_wrapper = dict(constructor='
        "'AconOptimWrapperConstructor', ...) in the config (mmacon.engine)."]


def test_constructor_line_silences_it(user_run):
    """The config line ``optim_wrapper = dict(constructor=...)`` merged as mmengine does."""
    cfg = user_run.cfg.copy()
    cfg.merge_from_dict(dict(optim_wrapper=dict(constructor='AconOptimWrapperConstructor')))
    assert cfg.optim_wrapper.optimizer == user_run.cfg.optim_wrapper.optimizer
    decayed = user_run.optim_wrapper
    try:
        user_run.optim_wrapper = user_run.build_optim_wrapper(cfg.optim_wrapper)
        assert _warnings(user_run) == []
        assert decayed_acon_parameters(user_run.model, user_run.optim_wrapper) == {}
    finally:
        user_run.optim_wrapper = decayed


def test_frozen_and_undecayed_parameters_are_not_counted():
    from mmacon.models.activations import AconC, MetaAconC
    model = torch.nn.Sequential(AconC(4), MetaAconC(4, reduction=2), torch.nn.Conv2d(4, 4, 1))
    model[0].p2.requires_grad_(False)
    optimizer = torch.optim.SGD([
        dict(params=[model[0].p1, model[0].p2, model[1].p1]),
        dict(params=[model[0].beta, model[1].p2], weight_decay=0.),
        dict(params=list(model[1].fc1.parameters()) + list(model[2].parameters())),
    ], lr=0.1, weight_decay=1e-4)
    assert decayed_acon_parameters(model, optimizer) == {'0.p1': 1e-4, '1.p1': 1e-4}


def test_add_decay_check_appends_once():
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    add_decay_check(add_decay_check(cfg))
    assert cfg.custom_hooks == [dict(type='EMAHook'), dict(type='AconDecayCheckHook')]
    empty = add_decay_check(Config(dict()))
    assert empty.custom_hooks == [dict(type='AconDecayCheckHook')]
