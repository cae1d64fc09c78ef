"""An ``AconConvert`` config through every entry point a user reaches for.

Two configs written as a user writes them: the tiny ReLU RetinaNet / PSPNet as ``_base_``,
``type`` changed and two keys added (ACON-C in the RetinaNet's head, Meta-ACON in the
PSPNet's decode head). Each trains 3 iterations with ``tools/train.py``; every entry point
then gets that checkpoint, and its outputs must equal those of the model that
tools/train.py's Runner builds from the same config and checkpoint (the reference): mmdet's
``init_detector`` / ``inference_detector`` and ``DetInferencer``, mmseg's ``init_model`` /
``inference_model`` and ``MMSegInferencer``, ``tools/test.py``,
``tools/analysis/get_flops.py`` and ``tools/deployment/pytorch2onnx.py --head``.

Every model runs one image per batch on one thread, as the reference does, so the
comparisons are exact up to float noise.
"""
import copy
import glob
import os.path as osp
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint

from mmacon.models.activations import AconC, MetaAconC
from mmacon.utils import register_safe_globals
from tests.test_tools.tool_helpers import REPO, TOOLS, load_tool, python, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('tools_e2e')]

DET_BASE = osp.join(REPO, 'configs', 'tiny', 'retinanet_r18-relu_fpn_tiny-coco.py')
SEG_BASE = osp.join(REPO, 'configs', 'tiny', 'pspnet_r18-d8-relu_tiny-cityscapes.py')
# What a user writes: the upstream config as _base_, its type named, ACON's two keys.
DET_CONFIG = f"""_base_ = {DET_BASE!r}
model = dict(type='AconConvert', model_type='RetinaNet',
             convert=dict(act_cfg=dict(type='AconC'), include=('bbox_head', )))
"""
SEG_CONFIG = f"""_base_ = {SEG_BASE!r}
model = dict(type='AconConvert', model_type='EncoderDecoder',
             convert=dict(act_cfg=dict(type='MetaAconC'), include=('decode_head', )))
"""
ITERS = 3


@pytest.fixture(scope='module', autouse=True)
def allow_training_checkpoints():
    """What a script of one's own does before handing a tools/train.py checkpoint to
    init_detector / init_model / the inferencers (their torch.load meets the message hub's
    types; a ReLU model's checkpoint the same): the documented line, nothing implicit."""
    register_safe_globals()


def det_options(root):
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': f'{root}/annotations/instances_val2017.json',
        'test_evaluator.ann_file': f'{root}/annotations/instances_val2017.json',
        'test_dataloader.batch_size': 1,
        'train_cfg.max_iters': ITERS,
        'train_cfg.val_interval': ITERS,
        'default_hooks.checkpoint.interval': ITERS,
        'param_scheduler.0.end': 1,
        # a detector trained 3 iterations scores ~0.01: keep all its 20 boxes per image
        'model.test_cfg.score_thr': 0.0,
    }


def seg_options(root):
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'test_dataloader.batch_size': 1,
        'train_cfg.max_iters': ITERS,
        'train_cfg.val_interval': ITERS,
        'default_hooks.checkpoint.interval': ITERS,
        'param_scheduler.0.end': 1,
        'param_scheduler.1.begin': 1,
        'param_scheduler.1.end': ITERS,
    }


def cli(options):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tools' subprocesses (OMP_NUM_THREADS=1)
    yield
    torch.set_num_threads(threads)


def runner_reference(cfg, checkpoint, work_dir):
    """The model tools/train.py builds (its Runner, from the config) with the checkpoint
    loaded as tools/test.py loads it, and its predictions on the test set, by image name."""
    from mmacon.utils import register_scope
    from mmacon.utils.device_aware_runner import DeviceAwareRunner
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    register_scope(cfg)
    runner = DeviceAwareRunner.from_cfg(cfg)
    runner.load_checkpoint(checkpoint)
    model = runner.model.eval()
    with torch.no_grad():
        preds = {osp.basename(s.img_path): s
                 for batch in runner.test_dataloader for s in model.test_step(batch)}
    return model, preds


def train(config_text, options, tmp_path_factory, name):
    work = tmp_path_factory.mktemp(name)
    config = str(work / f'{name}.py')
    with open(config, 'w') as f:
        f.write(config_text)
    work_dir = str(work / 'train')
    run([python(), osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir] + cli(options))
    checkpoint = osp.join(work_dir, f'iter_{ITERS}.pth')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    return SimpleNamespace(config=config, checkpoint=checkpoint, cfg=cfg, options=options,
                           work=work, state=_load_checkpoint(checkpoint)['state_dict'])


@pytest.fixture(scope='module')
def det(tiny_coco, tmp_path_factory):
    out = train(DET_CONFIG, det_options(tiny_coco), tmp_path_factory, 'det')
    out.model, out.preds = runner_reference(out.cfg, out.checkpoint, str(out.work / 'ref'))
    out.images = sorted(glob.glob(osp.join(tiny_coco, 'val2017', '*.jpg')))
    assert len(out.images) == 2 and set(out.preds) == {osp.basename(p) for p in out.images}
    return out


@pytest.fixture(scope='module')
def seg(tiny_cityscapes, tmp_path_factory):
    out = train(SEG_CONFIG, seg_options(tiny_cityscapes), tmp_path_factory, 'seg')
    out.model, out.preds = runner_reference(out.cfg, out.checkpoint, str(out.work / 'ref'))
    out.images = sorted(glob.glob(osp.join(tiny_cityscapes, 'leftImg8bit', 'val', '*', '*.png')))
    assert len(out.images) == 2 and set(out.preds) == {osp.basename(p) for p in out.images}
    return out


# ------------------------------------------------------------------------------ checks
def converted(model):
    return {n: m.activate for n, m in model.named_modules()
            if isinstance(m, ConvModule) and m.with_activation
            and isinstance(m.activate, (AconC, MetaAconC))}


def assert_acon_loaded(model, run_, cls, num):
    """``model`` is the reference's class with ``num`` converted activations of ``cls``,
    every ACON tensor (parameters and, for Meta-ACON, BN statistics) as trained."""
    assert type(model) is type(run_.model)
    acts = converted(model)
    assert len(acts) == num and all(type(a) is cls for a in acts.values()), acts
    acon_keys = [k for k in run_.state if '.activate.' in k]
    assert acon_keys and len(acon_keys) == len(
        [k for k in model.state_dict() if '.activate.' in k])
    own = model.state_dict()
    for key in acon_keys:
        assert torch.equal(own[key].cpu(), run_.state[key]), key
    # training moved them: a model that kept its initial ACON would be told apart
    if cls is AconC:
        betas = [run_.state[k] for k in acon_keys if k.endswith('.beta')]
        assert max(float((b - 1).abs().max()) for b in betas) > 0  # beta starts at 1
    else:
        means = [run_.state[k] for k in acon_keys if k.endswith('bn1.running_mean')]
        assert max(float(m.abs().max()) for m in means) > 0  # running_mean starts at 0


def assert_same_boxes(samples, reference, atol=1e-5):
    assert set(samples) == set(reference)
    for name, sample in samples.items():
        got, want = sample.pred_instances, reference[name].pred_instances
        assert len(want) == 20, name  # max_per_img at score_thr 0
        assert torch.equal(got.labels.cpu(), want.labels), name
        torch.testing.assert_close(got.scores.cpu(), want.scores, atol=atol, rtol=1e-4)
        torch.testing.assert_close(got.bboxes.cpu(), want.bboxes, atol=1e-3, rtol=1e-5)


def assert_same_segmentation(samples, reference):
    assert set(samples) == set(reference)
    for name, sample in samples.items():
        got, want = sample.seg_logits.data.cpu(), reference[name].seg_logits.data
        assert got.shape == want.shape == (6, 128, 256), name  # the original image size
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
        assert torch.equal(sample.pred_sem_seg.data.cpu(), reference[name].pred_sem_seg.data)


def by_name(samples):
    return {osp.basename(s.img_path): s for s in samples}


# ------------------------------------------------------------------------------- mmdet
def test_init_detector_and_inference_detector(det):
    from mmdet.apis import inference_detector, init_detector
    cfg = copy.deepcopy(det.cfg)
    model = init_detector(cfg, det.checkpoint, device='cpu')
    assert_acon_loaded(model, det, AconC, num=4)  # RetinaHead: 2 cls + 2 reg convs
    # what init_detector sets on the model it returns
    assert model.dataset_meta['classes'] == ('square', 'circle', 'triangle')
    assert model.cfg is cfg and not model.training
    assert_same_boxes(by_name(inference_detector(model, det.images)), det.preds)
    # the control: the same config without the trained weights predicts otherwise
    untrained = init_detector(copy.deepcopy(det.cfg), None, device='cpu')
    scores = inference_detector(untrained, det.images[0]).pred_instances.scores
    want = det.preds[osp.basename(det.images[0])].pred_instances.scores
    assert not torch.allclose(scores, want, atol=1e-4)


def test_det_inferencer(det):
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=copy.deepcopy(det.cfg), weights=det.checkpoint,
                               device='cpu', show_progress=False)
    assert_acon_loaded(inferencer.model, det, AconC, num=4)
    out = inferencer(det.images, return_datasamples=True, no_save_vis=True)
    assert_same_boxes(by_name(out['predictions']), det.preds)


def test_det_tools_test_py(det, tmp_path):
    import mmengine
    out = str(tmp_path / 'preds.pkl')
    proc = run([python(), osp.join(TOOLS, 'test.py'), det.config, det.checkpoint,
                '--work-dir', str(tmp_path), '--out', out] + cli(det.options))
    assert re.search(r'Iter\(test\) \[2/2\].*coco/bbox_mAP: [\d.]+', proc.stdout + proc.stderr)
    dumped = mmengine.load(out)
    assert len(dumped) == 2
    for result in dumped:
        got, want = result['pred_instances'], det.preds[osp.basename(result['img_path'])]
        want = want.pred_instances
        assert torch.equal(got['labels'], want.labels)
        torch.testing.assert_close(got['scores'], want.scores, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(got['bboxes'], want.bboxes, atol=1e-3, rtol=1e-5)


def test_det_get_flops(det, capsys):
    flops_tool = load_tool('tools/analysis/get_flops.py')
    assert flops_tool.main([det.config, DET_BASE]) == 0
    rows = re.findall(r'^(\S+): input 128x160 .*?: params ([\d,]+) flops',
                      capsys.readouterr().out, re.M)
    params = {path: int(v.replace(',', '')) for path, v in rows}
    assert params[det.config] == sum(p.numel() for p in det.model.parameters())
    # ACON-C adds p1, p2 and beta per channel of each converted activation: 4 x 64 wide
    assert params[det.config] - params[DET_BASE] == 3 * 4 * 64


def test_det_pytorch2onnx_head(det, tmp_path, capsys):
    ort = pytest.importorskip('onnxruntime')
    from mmacon.utils.sample_inputs import load_images, preprocess_cfg
    onnx_tool = load_tool('tools/deployment/pytorch2onnx.py')
    path = str(tmp_path / 'det.onnx')
    assert onnx_tool.main([det.config, '--checkpoint', det.checkpoint, '--head', '--shape',
                           '128', '160', '--batch', '1', '--output', path]) == 0
    assert 'within atol' in capsys.readouterr().out
    # the file against the reference's head outputs on the tool's sample input
    x, _ = load_images(None, 1, (128, 160), *preprocess_cfg(det.cfg))
    with torch.no_grad():
        cls_scores, bbox_preds = det.model._forward(x)
    want = list(cls_scores) + list(bbox_preds)  # 5 levels each
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert len(got) == len(want) == 10
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------------------- mmseg
def test_init_model_and_inference_model(seg):
    from mmseg.apis import inference_model, init_model
    cfg = copy.deepcopy(seg.cfg)
    model = init_model(cfg, seg.checkpoint, device='cpu')
    # PSPHead: 4 pyramid-pooling convs + the bottleneck
    assert_acon_loaded(model, seg, MetaAconC, num=5)
    assert model.dataset_meta['classes'][0] == 'road' and model.cfg is cfg
    assert_same_segmentation({osp.basename(p): inference_model(model, p) for p in seg.images},
                             seg.preds)


def test_mmseg_inferencer(seg):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=copy.deepcopy(seg.cfg), weights=seg.checkpoint,
                                 device='cpu')
    assert_acon_loaded(inferencer.model, seg, MetaAconC, num=5)
    out = inferencer(seg.images, return_datasamples=True)
    assert_same_segmentation(by_name(out), seg.preds)


def test_seg_tools_test_py(seg, tmp_path):
    import mmcv
    out_dir = str(tmp_path / 'pred')
    proc = run([python(), osp.join(TOOLS, 'test.py'), seg.config, seg.checkpoint,
                '--work-dir', str(tmp_path), '--out', out_dir] + cli(seg.options))
    assert re.search(r'Iter\(test\) \[2/2\].*mIoU: [\d.]+', proc.stdout + proc.stderr)
    for name, ref in seg.preds.items():
        found = glob.glob(osp.join(out_dir, '**', osp.splitext(name)[0] + '.png'),
                          recursive=True)
        assert len(found) == 1, name
        label = mmcv.imread(found[0], flag='unchanged')
        assert np.array_equal(label, ref.pred_sem_seg.data[0].numpy()), name


def test_seg_get_flops(seg, capsys):
    flops_tool = load_tool('tools/analysis/get_flops.py')
    assert flops_tool.main([seg.config]) == 0
    params = re.search(r'input 128x256 .*?: params ([\d,]+) flops', capsys.readouterr().out)
    assert int(params.group(1).replace(',', '')) == sum(
        p.numel() for p in seg.model.parameters())


def test_seg_pytorch2onnx_head(seg, tmp_path, capsys):
    ort = pytest.importorskip('onnxruntime')
    from mmacon.utils.sample_inputs import load_images, preprocess_cfg
    onnx_tool = load_tool('tools/deployment/pytorch2onnx.py')
    path = str(tmp_path / 'seg.onnx')
    # 96 x 192: the 12 x 24 features divide into the pyramid pooling's 1, 2, 3 and 6 bins
    # (torch's exporter has no adaptive pooling otherwise)
    assert onnx_tool.main([seg.config, '--checkpoint', seg.checkpoint, '--head', '--shape',
                           '96', '192', '--batch', '1', '--output', path]) == 0
    assert 'within atol' in capsys.readouterr().out
    x, _ = load_images(None, 1, (96, 192), *preprocess_cfg(seg.cfg))
    with torch.no_grad():
        want = seg.model._forward(x)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    (got, ) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert got.shape == (1, 6, 12, 24)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-4, rtol=1e-4)
