"""Which parameters of a model are ACON's own (p1, p2, beta), found by module type."""
from __future__ import annotations

from torch import nn

from ..models.activations import AconA, AconB, AconC, AconFReLU, MetaAconC

# Their parameters of their own (``recurse=False``) are exactly the ACON ones: p1, p2
# and beta of ACON-A/B/C, p1 and p2 of Meta-ACON, ACON-FReLU's learnable beta. The
# layers they contain (Meta-ACON's generator fc1/bn1/fc2/bn2, ACON-FReLU's depthwise
# conv and BNs) are ordinary conv/norm layers and are not included.
ACON_MODULES = (AconA, AconB, AconC, MetaAconC, AconFReLU)


def acon_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """``{full name: parameter}`` of the ACON parameters of ``model``, in module order.

    A module counts by type (an instance of :data:`ACON_MODULES`, subclasses
    included), not by parameter name, so ``*.beta`` of any other layer is not caught.
    """
    found = {}
    for prefix, module in model.named_modules():
        if isinstance(module, ACON_MODULES):
            for name, param in module.named_parameters(recurse=False):
                found[f'{prefix}.{name}' if prefix else name] = param
    return found
