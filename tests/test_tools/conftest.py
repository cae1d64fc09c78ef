import pytest


@pytest.fixture(scope='session')
def tiny_cityscapes(tmp_path_factory):
    from mmacon.tiny_data import make_tiny_cityscapes
    root = str(tmp_path_factory.mktemp('data') / 'tiny_cityscapes')
    make_tiny_cityscapes(root, num_train=8, num_val=2)
    return root


@pytest.fixture(scope='session')
def tiny_coco(tmp_path_factory):
    from mmacon.tiny_data import make_tiny_coco
    root = str(tmp_path_factory.mktemp('data') / 'tiny_coco')
    make_tiny_coco(root, num_train=8, num_val=2)
    return root


def pytest_configure(config):
    # known to pytest-xdist; registered here too for runs with -p no:xdist
    config.addinivalue_line('markers', 'xdist_group(name): run in one xdist worker')
