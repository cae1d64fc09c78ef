"""acon_parameters: ACON's own parameters by module type, not by name."""
from test_optim_constructor import ACON_NAME, WithAcon

from mmacon.engine import acon_parameters


def test_acon_parameters_by_module_type():
    model = WithAcon()
    found = acon_parameters(model)
    expected = [n for n, _ in model.named_parameters() if ACON_NAME.search(n)
                and not n.startswith('head.')]
    assert sorted(found) == sorted(expected)
    # 3 (ACON-C) + 1 (ACON-A) + 2 (ACON-B) + 2 + 2 (Meta-ACON: beta generated) + 1 (FReLU)
    assert len(found) == 11
    assert 'head.beta' not in found and 'act_meta.fc1.weight' not in found


def test_acon_parameters_of_a_model_without_acon():
    import torch
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    model.beta = torch.nn.Parameter(torch.ones(1))
    assert acon_parameters(model) == {}
