"""Assertions shared by the backbone tests (a plain module, imported by its siblings)."""
import torch
from torch import nn


def assert_same_outputs_and_grads(plain: nn.Module, other: nn.Module, x: torch.Tensor) -> None:
    """``other`` (loaded with ``plain``'s weights) gives the same outputs and gradients."""
    other.load_state_dict(plain.state_dict())
    outs = [sum(o.sum() for o in m(x)) for m in (plain, other)]
    torch.testing.assert_close(outs[0], outs[1])
    for out in outs:
        out.backward()
    for (name, p), q in zip(plain.named_parameters(), other.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
