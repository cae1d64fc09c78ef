from mmacon.ops import (IMPLS, AconCFunction, acon_c, default_impl, get_default_impl,
                        set_default_impl)
from mmacon.ops.reference import acon_c_reference, smooth_max

from .acon import AconA, AconB, AconC
from .acon_frelu import AconFReLU
from .meta_acon import GENERATOR_MODES, MetaAconC

__all__ = ['AconA', 'AconB', 'AconC', 'MetaAconC', 'AconFReLU', 'acon_c',
           'acon_c_reference', 'smooth_max', 'GENERATOR_MODES', 'IMPLS', 'AconCFunction',
           'default_impl', 'get_default_impl', 'set_default_impl']
