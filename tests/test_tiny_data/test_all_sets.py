"""All four tiny sets at once, and the command-line tool that writes them."""
import os
import os.path as osp

from mmacon.tiny_data import (make_tiny_ade20k, make_tiny_cityscapes, make_tiny_coco,
                              make_tiny_datasets, make_tiny_imagenet)
from tests.test_tiny_data.helpers import tree_digest
from tests.test_tools.tool_helpers import load_tool


def test_the_four_sets_are_the_single_makers(tmp_path):
    roots = make_tiny_datasets(str(tmp_path / 'all'), seed=1)
    assert sorted(roots) == ['ade20k', 'cityscapes', 'coco', 'imagenet']
    for name, maker in (('coco', make_tiny_coco), ('ade20k', make_tiny_ade20k),
                        ('cityscapes', make_tiny_cityscapes),
                        ('imagenet', make_tiny_imagenet)):
        assert roots[name] == osp.join(str(tmp_path / 'all'), f'tiny_{name}')
        maker(str(tmp_path / name), seed=1)
        assert tree_digest(roots[name]) == tree_digest(tmp_path / name), name


def test_cli(tmp_path, capsys):
    cli = load_tool('tools/misc/make_tiny_datasets.py')
    cli.main(['--out', str(tmp_path), '--num-train', '2', '--num-val', '1'])
    out = capsys.readouterr().out
    for name in ('tiny_coco', 'tiny_ade20k', 'tiny_cityscapes'):
        assert name in out and osp.isdir(tmp_path / name)
    assert osp.isfile(tmp_path / 'tiny_coco' / 'annotations' / 'instances_val2017.json')
    assert len(os.listdir(tmp_path / 'tiny_ade20k' / 'images' / 'training')) == 2
