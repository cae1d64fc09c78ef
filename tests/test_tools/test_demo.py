"""tools/demo.py end to end, smallest: Meta-ACON tiny ImageNet pretraining (2 iterations),
then RetinaNet fine-tuned from it (2 iterations) on tiny COCO, one seed."""
import json
import os.path as osp

import pytest

from tests.test_tools.tool_helpers import TOOLS, python, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]


def test_demo_pipeline_records_stages_and_exits_zero(tmp_path):
    work_dir = str(tmp_path / 'demo')
    proc = run([python(), osp.join(TOOLS, 'demo.py'), '--tasks', 'det', '--variants',
                'metaacon', '--seeds', '3', '--pretrain-iters', '2', '--iters', '2',
                '--data-dir', str(tmp_path / 'data'), '--work-dir', work_dir, '--quiet'],
               timeout=600)
    records = json.load(open(osp.join(work_dir, 'results.json')))['records']
    assert [(r['stage'], r['seed'], r['status'], r['activation']) for r in records] == [
        ('pretrain', 3, 'ok', 'metaacon'), ('finetune', 3, 'ok', 'metaacon')]
    pre, det = records
    assert pre['metric'] == 'accuracy/top1' and 0 <= pre['value'] <= 100
    assert det['pretrain_checkpoint'] == pre['checkpoint']
    assert det['metric'] == 'coco/bbox_mAP' and 0 <= det['value'] <= 100
    if det['metrics'] == {}:  # 2 iterations: a detector may predict no box at all
        assert det['value'] == 0.0 and 'no detections' in det['note']
    out = proc.stdout
    assert '| pretrain | ResNet-18 / tiny ImageNet | accuracy/top1 | Meta-ACON | 1 |' in out
    assert '| finetune | RetinaNet / tiny COCO | coco/bbox_mAP | Meta-ACON | 1 |' in out
    assert osp.isfile(osp.join(work_dir, 'results.png'))
    assert 'total wall time' in out


def test_demo_matrix():
    from tests.test_tools.tool_helpers import load_tool
    demo = load_tool('tools/demo.py')
    roots = dict(tiny_imagenet='/d/in', tiny_coco='/d/coco', tiny_cityscapes='/d/cs')
    runs = demo.demo_runs(demo.parse_args(['--seeds', '0', '1']), roots)
    assert len(runs) == 18
    pre = [r for r in runs if r.stage == 'pretrain']
    fine = [r for r in runs if r.stage == 'finetune']
    assert len(pre) == 6 and {r.activation for r in pre} == {'relu', 'aconc', 'metaacon'}
    for r in fine:
        assert (r.pretrain.activation, r.pretrain.seed) == (r.activation, r.seed)
        assert r.pretrain.stem == f'resnet18-w32-{r.activation}_tiny-imagenet'
    n = demo.DEFAULT_PRETRAIN_ITERS
    assert pre[0].cfg_options['train_cfg.max_iters'] == n
    assert pre[0].cfg_options['train_dataloader.dataset.data_root'] == '/d/in/'
    det = next(r for r in fine if r.stem.startswith('retinanet'))
    assert det.cfg_options['val_evaluator.ann_file'] == '/d/coco/annotations/instances_val2017.json'
    assert det.cfg_options['train_cfg.max_iters'] == demo.DEFAULT_ITERS['det']
    assert (det.metric, det.task) == ('coco/bbox_mAP', 'RetinaNet / tiny COCO')
    scratch = demo.demo_runs(demo.parse_args(['--no-pretrain', '--tasks', 'seg', '--seeds', '4',
                                              '--iters', '9']), roots)
    assert [(r.stage, r.seed, r.pretrain, r.cfg_options['train_cfg.max_iters'])
            for r in scratch] == [('train', 4, None, 9)] * 3
