"""The benchmark matrix: activation / task from file names, runs, stage pairing, spec files."""
import os.path as osp

import pytest

from mmacon.sweep.spec import (activation_of, build_runs, flatten_options, format_option,
                               load_spec, task_of)
from tests.test_tools.tool_helpers import REPO

TINY = osp.join(REPO, 'configs', 'tiny')
DET = [osp.join(TINY, f'retinanet_r18-{a}_fpn_tiny-coco.py') for a in ('relu', 'metaacon')]
SEG = [osp.join(TINY, f'pspnet_r18-d8-{a}_tiny-cityscapes.py') for a in ('relu', 'metaacon')]


def test_activation_and_task_from_file_name():
    assert activation_of(DET[1]) == 'metaacon'
    assert activation_of('pspnet_r18-d8-aconc_tiny-cityscapes.py') == 'aconc'
    assert task_of(DET[1], 'metaacon') == 'retinanet_r18-*_fpn_tiny-coco'
    assert task_of(DET[0], 'relu') == task_of(DET[1], 'metaacon')
    with pytest.raises(ValueError, match=r"resnet50_in1k.py.*activation='relu'"):
        activation_of('resnet50_in1k.py')
    with pytest.raises(ValueError, match=r"\['relu', 'aconc'\]"):
        activation_of('relu-vs-aconc.py')


def test_single_stage_runs_are_seed_major_and_named_by_stage_config_seed():
    runs = build_runs(DET, seeds=[3, 1], cfg_options={'train_cfg.max_iters': 5})
    assert [(r.stage, r.stem, r.seed) for r in runs] == [
        ('train', 'retinanet_r18-relu_fpn_tiny-coco', 3),
        ('train', 'retinanet_r18-metaacon_fpn_tiny-coco', 3),
        ('train', 'retinanet_r18-relu_fpn_tiny-coco', 1),
        ('train', 'retinanet_r18-metaacon_fpn_tiny-coco', 1)]
    assert runs[1].name == 'train/retinanet_r18-metaacon_fpn_tiny-coco/seed3'
    assert runs[1].work_dir('/w') == '/w/train/retinanet_r18-metaacon_fpn_tiny-coco/seed3'
    assert all(r.cfg_options == {'train_cfg.max_iters': 5} and r.pretrain is None for r in runs)


def test_two_stages_pair_activation_and_seed():
    runs = build_runs(DET, seeds=[0, 1], pretrain=SEG)
    stage2 = [r for r in runs if r.stage == 'finetune']
    assert [r.stage for r in runs[:4]] == ['pretrain'] * 4 and len(stage2) == 4
    for r in stage2:
        assert (r.pretrain.stage, r.pretrain.activation, r.pretrain.seed) == (
            'pretrain', r.activation, r.seed)
    # an explicit stage-1 config wins over the activation
    runs = build_runs([dict(config=DET[1], pretrain=osp.basename(SEG[0]))], [0], pretrain=SEG)
    assert runs[-1].pretrain.stem == 'pspnet_r18-d8-relu_tiny-cityscapes'


def test_bad_matrices_name_the_problem():
    with pytest.raises(ValueError, match=r'2 pretrain configs match activation .relu.'):
        build_runs(DET[:1], [0], pretrain=[SEG[0], dict(config=DET[0])])
    with pytest.raises(ValueError, match='repeat a seed'):
        build_runs(DET, [0, 0])
    with pytest.raises(ValueError, match='names these runs twice'):
        build_runs([DET[0], DET[0]], [0])
    with pytest.raises(ValueError, match='no pretrain stage'):
        build_runs([dict(config=DET[0], pretrain='x')], [0])
    with pytest.raises(ValueError, match=r"configs\[0\].*unknown: \['seed'\]"):
        build_runs([dict(config=DET[0], seed=1)], [0])
    with pytest.raises(FileNotFoundError, match='nope.py'):
        build_runs(['nope.py'], [0])


def test_spec_file(tmp_path):
    spec = tmp_path / 'bench.py'
    spec.write_text(f"seeds = [0, 2]\nconfigs = [{DET[0]!r}, dict(config={DET[1]!r}, "
                    "task='det', metric='coco/bbox_mAP_50')]\ncfg_options = {'a.b': 1}\n")
    loaded = load_spec(str(spec))
    runs = build_runs(**loaded)
    assert len(runs) == 4 and runs[1].task == 'det' and runs[1].metric == 'coco/bbox_mAP_50'
    bad = tmp_path / 'bad.py'
    bad.write_text('seed = [0]\nconfigs = []\n')
    with pytest.raises(ValueError, match=r"unknown spec keys \['seed'\]"):
        load_spec(str(bad))


def test_options_format_as_train_py_parses_them():
    from mmengine.config import DictAction
    import argparse
    opts = flatten_options({'a': {'b': [1, 2], 'c': (0.5, 'x')}, 'd.e': True, 'f': None})
    argv = [f'{k}={format_option(v)}' for k, v in opts.items()]
    assert argv == ['a.b=[1,2]', 'a.c=(0.5,x)', 'd.e=True', 'f=None']
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parsed = parser.parse_args(['--cfg-options'] + argv).cfg_options
    assert parsed == {'a.b': [1, 2], 'a.c': (0.5, 'x'), 'd.e': True, 'f': None}
    with pytest.raises(ValueError, match='dotted keys'):
        format_option({'c': 1})
