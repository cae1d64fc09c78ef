"""model-index.yml and one metafile.yml per config folder: complete, consistent with the
configs, and the paper's ImageNet numbers where it gives them."""
import os
import os.path as osp

import pytest
import yaml

from test_configs import CONFIG_ROOT, CONFIGS, load
from test_imagenet_checkpoints import pretraining_config

REPO = CONFIG_ROOT.parent
FOLDERS = sorted({c.split('/')[0] for c in CONFIGS})
# top-1 error (%) of the official models (paper, Tables 2-3 and the TFNet table)
PAPER_TOP1_ERROR = {
    'resnet50-relu': 24.0, 'resnet50-aconc': 23.2, 'resnet50-metaacon': 22.0,
    'shufflenetv2-0.5x-relu': 39.4, 'shufflenetv2-0.5x-metaacon': 34.8,
    'shufflenetv2-1.5x-relu': 27.4, 'shufflenetv2-1.5x-metaacon': 24.7,
    'tfnet-1.5x': 26.0, 'mobilenetv2-relu6': 28.0,
}


def _yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def _models(folder):
    return {m['Config']: m for m in _yaml(CONFIG_ROOT / folder / 'metafile.yml')['Models']}


def test_model_index_imports_one_metafile_per_config_folder():
    index = _yaml(REPO / 'model-index.yml')
    assert index['Import'] == [f'configs/{f}/metafile.yml' for f in FOLDERS]
    assert all(osp.isfile(REPO / p) for p in index['Import'])
    assert not [d for d in os.listdir(CONFIG_ROOT)
                if d != '_base_' and (CONFIG_ROOT / d).is_dir() and d not in FOLDERS]


@pytest.mark.parametrize('folder', FOLDERS)
def test_metafile_lists_exactly_the_folders_configs(folder):
    meta = _yaml(CONFIG_ROOT / folder / 'metafile.yml')
    collections = {c['Name'] for c in meta['Collections']}
    for c in meta['Collections']:
        assert osp.isfile(REPO / c['README']), c['README']
    models = _models(folder)
    assert sorted(models) == [f'configs/{c}' for c in CONFIGS if c.startswith(folder + '/')]
    for config, m in models.items():
        assert m['Name'] == osp.basename(config)[:-3]
        assert m['In Collection'] in collections


@pytest.mark.parametrize('rel', [c for c in CONFIGS if not c.startswith('imagenet/')
                                 and not c.endswith('_tiny-imagenet.py')])
def test_downstream_entry_names_its_pretraining(rel):
    meta = _models(rel.split('/')[0])[f'configs/{rel}']['Metadata']
    assert meta['Pretrained By'] == f'configs/{pretraining_config(rel)}'
    init = load(rel).model.backbone.get('init_cfg')
    if init is not None:
        assert meta['Pretrained Checkpoint'] == init['checkpoint']


def test_imagenet_entries_carry_the_papers_numbers():
    found = {}
    for config, m in _models('imagenet').items():
        key = osp.basename(config).split('_')[0]
        top1 = [r['Metrics']['Top 1 Accuracy'] for r in m.get('Results', [])]
        if top1:
            assert 'linear' in config, f'{config}: paper numbers belong to the official recipe'
            found[key] = top1[0]
    assert found == {k: pytest.approx(100 - v) for k, v in PAPER_TOP1_ERROR.items()}
