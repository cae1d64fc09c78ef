"""Meta-ACON: ACON-C whose switching factor beta is generated from the input.

Ma et al., CVPR 2021, Sec. 3.3: ``beta = G(x)``, one of three generators:

- ``'channel'`` (the paper's default, Eq. 8): ``beta_c = sigmoid(W2 W1 sum_hw x_c)``,
  built as global average pool -> ``fc1`` (1x1 conv C -> max(r, C // r)) -> ``bn1``
  -> ``fc2`` (1x1 conv -> C) -> ``bn2`` -> sigmoid. beta is (N, C, 1, 1).
- ``'layer'``: ``beta = sigmoid(w * mean_chw x + b)``, one per sample, (N, 1, 1, 1).
- ``'pixel'``: ``beta_hw = sigmoid(norm(sum_c w_c x_chw + b))``, one per position, (N, 1, H, W).

The paper writes the layer-wise generator as a plain sum over C, H, W; we take
the mean and a learnable scalar affine so that beta does not saturate with the
feature-map size.
"""
from __future__ import annotations

import warnings

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmacon.ops import META_ACON_FUSED, acon_c, check_impl, choose
from mmacon.ops.small_graph import single_threaded

from ._checks import (ConfigArgumentError, check_channels_arg, check_input, checked_args,
                      describe)
from .acon import _channel_param, check_init, init_slopes
from .spatial_mean import spatial_mean

GENERATOR_MODES = ('channel', 'layer', 'pixel')
_NORM_ALTERNATIVES = ("norm_cfg=None, or norm_cfg=dict(type='SyncBN') with several "
                      "processes")


def fit_num_groups(num_groups: int, channels: int) -> int:
    """The largest divisor of ``channels`` that is <= ``num_groups`` and <= ``channels // 2``.

    GroupNorm needs ``channels % num_groups == 0``; a generator's widths (C, its
    hidden width max(r, C // r), and 1 for the pixel-wise BN) rarely all divide the
    backbone's ``num_groups``, so each generator norm takes the closest group count
    from below. The channel-wise generator normalises (N, C, 1, 1) features, where a
    group of one channel holds a single value, so each group keeps at least two
    channels (a width of 1 gets 1 group): 32 groups on 48 channels -> 24, on 64 -> 32,
    on 8 -> 4, on 1 -> 1.
    """
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        raise ValueError(f"norm_cfg=dict(type='GN', num_groups=...): `num_groups` must be a "
                         f'positive int, got {num_groups!r}')
    for groups in range(min(num_groups, max(channels // 2, 1)), 0, -1):
        if channels % groups == 0:
            return groups
    return 1


def _is_group_norm(layer_type) -> bool:
    if isinstance(layer_type, str):
        with MODELS.switch_scope_and_registry(None) as registry:
            layer_type = registry.get(layer_type)
    return layer_type is nn.GroupNorm


def _build_norm(norm_cfg: dict | None, channels: int, owner: str) -> nn.Module:
    """Build ``norm_cfg`` for ``channels``; GN's ``num_groups`` adapts (:func:`fit_num_groups`).

    A GN config without ``num_groups`` raises :class:`ConfigArgumentError` naming it
    (mmcv's ``build_norm_layer`` raises an empty ``AssertionError`` there).
    """
    if norm_cfg is None:
        return nn.Identity()
    if isinstance(norm_cfg, dict) and _is_group_norm(norm_cfg.get('type')):
        if 'num_groups' not in norm_cfg:
            raise ConfigArgumentError(
                f'{owner}: norm_cfg={norm_cfg!r} needs `num_groups`, e.g. '
                f"norm_cfg=dict(type='GN', num_groups=32) (each of its norms takes the largest "
                f'divisor of its width not above it)')
        norm_cfg = dict(norm_cfg, num_groups=fit_num_groups(norm_cfg['num_groups'], channels))
    return build_norm_layer(norm_cfg, channels)[1]


def _pointwise(y: Tensor, conv: nn.Conv2d) -> Tensor:
    """A 1x1 ``conv`` applied to (N, C, 1, 1) features as a matrix product: -> (N, C_out)."""
    return F.linear(y.flatten(1), conv.weight.flatten(1), conv.bias)


def _synced(norm: nn.Module) -> bool:
    """True where ``norm`` is a SyncBN whose statistics are gathered across processes."""
    return (isinstance(norm, nn.SyncBatchNorm) and norm.training and dist.is_available()
            and dist.is_initialized() and dist.get_world_size() > 1)


def _one_value_per_channel(norm: nn.Module, values: int) -> bool:
    """True where ``norm`` would compute batch statistics from ``values`` == 1 per channel."""
    if not (norm.training and isinstance(norm, _BatchNorm)):
        return False
    if values != 1:
        return False
    return not _synced(norm)


def _norm_of_nothing(norm: nn.Module, y: Tensor) -> Tensor:
    """``norm(y)`` for a ``y`` without elements, leaving every statistic as it is.

    A training-mode ``BatchNorm2d`` leaves its running mean and variance alone on an empty
    batch but counts it in ``num_batches_tracked``; here nothing moves. Gradients of the
    norm's weight and bias are zeros, as through ``norm(y)``. A SyncBN across processes
    runs as it is: its peers wait for this process's (empty) statistics, forward and
    backward.
    """
    if not (isinstance(norm, _BatchNorm) and norm.training) or _synced(norm):
        return norm(y)
    return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                        norm.running_mean is None, 0.0, norm.eps)


@MODELS.register_module()
@checked_args
class MetaAconC(nn.Module):
    """Meta-ACON-C: ``f(x) = (p1 - p2) * x * sigmoid(beta(x) * (p1 - p2) * x) + p2 * x``.

    Args:
        channels: number of input channels C.
        reduction: r of the channel-wise generator; its hidden width is max(r, C // r).
        mode: ``'channel'``, ``'layer'`` or ``'pixel'`` (see the module docstring).
        norm_cfg: normalisation inside the generator (``'channel'`` and ``'pixel'``).
            Default BN as the official release, so its checkpoints load. A BN that sees
            one value per channel in training (a batch of one per process) normalises
            that call with its running statistics, without updating them, and warns
            once per layer; GN, SyncBN (several processes) or ``None`` train on it.
            With ``dict(type='GN', num_groups=G)`` each generator norm takes the
            largest divisor of its width that is <= G and leaves two or more channels
            per group (``bn1``: of the hidden width, ``bn2``: of C, the pixel-wise
            ``bn``: 1 group), so a backbone's GN config fits every width; see
            :func:`fit_num_groups`.
        init: ``'official'`` (p1, p2 ~ N(0, 1)) or ``'swish'`` (p1 = 1, p2 = 0).
        inplace: accepted for mmcv's ``ConvModule`` and ignored.
        impl: ACON-C implementation, ``'auto'`` (follow :func:`set_default_impl`, else
            the fastest available), ``'reference'``, ``'eager'``, ``'cpp'`` or
            ``'triton'``; beta's gradient flows into the generator with
            every impl. On CPU, ``'auto'``/``'cpp'`` with the channel-wise generator and a
            BN (or no) norm run mean, generator and ACON-C as one fused node
            (:mod:`mmacon.ops.cpu_meta_acon`; the generator in float64, so float32 results
            differ from the module path by rounding); on CUDA, ``'auto'``/``'triton'`` do
            the same with Triton kernels around the generator's ATen ops
            (:mod:`mmacon.ops.triton_meta_acon`; also CPU tensors with ``'triton'`` under
            ``TRITON_INTERPRET=1``); :meth:`explain_fused` says when not.
    Shape: (N, C, H, W) -> (N, C, H, W). N, H or W may be 0 (a RoI head given no RoIs):
    the output is empty, every parameter gets a zero gradient, and no statistic moves
    (:meth:`_beta_of_nothing`); unlike torch's BatchNorm2d, an empty batch does not count
    in the generator BNs' ``num_batches_tracked``.
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 16,
                 mode: str = 'channel',
                 norm_cfg: dict | None = dict(type='BN'),
                 init: str = 'official',
                 inplace: bool = False,
                 impl: str = 'auto') -> None:
        super().__init__()
        name = type(self).__name__
        self.channels = check_channels_arg(name, channels)
        self.impl = check_impl(impl)
        if mode not in GENERATOR_MODES:
            raise ValueError(f'{name}: unknown mode {mode!r}, valid: {GENERATOR_MODES}')
        if isinstance(reduction, bool) or not isinstance(reduction, int) or reduction <= 0:
            raise ValueError(f'{name}: `reduction` must be a positive int, got {reduction!r}')
        self.mode = mode
        self.reduction = reduction
        self.init = check_init(name, init)
        self.p1 = _channel_param(channels)
        self.p2 = _channel_param(channels)
        if mode == 'channel':
            hidden = max(reduction, channels // reduction)
            self.fc1 = nn.Conv2d(channels, hidden, kernel_size=1, bias=True)
            self.bn1 = _build_norm(norm_cfg, hidden, name)
            self.fc2 = nn.Conv2d(hidden, channels, kernel_size=1, bias=True)
            self.bn2 = _build_norm(norm_cfg, channels, name)
        elif mode == 'layer':
            self.fc = nn.Conv2d(1, 1, kernel_size=1, bias=True)
        else:
            self.fc = nn.Conv2d(channels, 1, kernel_size=1, bias=True)
            self.bn = _build_norm(norm_cfg, 1, name)
        init_slopes(self.p1, self.p2, self.init)

    def _norm(self, norm: nn.Module, y: Tensor) -> Tensor:
        if y.numel() == 0:
            return _norm_of_nothing(norm, y)
        if _one_value_per_channel(norm, y.numel() // max(y.size(1), 1)):
            return self._norm_one_value(norm, y)
        return norm(y)

    def _norm_one_value(self, norm: _BatchNorm, y: Tensor) -> Tensor:
        """A training-mode BN that sees one value per channel: its running statistics.

        A batch of one per process (e.g. an epoch's last batch) has no batch statistics;
        this call normalises with the running ones, as in eval mode, and leaves them
        unchanged. Warns once per layer. Without running statistics it raises.
        """
        self._check_one_value(norm, tuple(y.shape))
        return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                            False, 0.0, norm.eps)

    def _check_one_value(self, norm: _BatchNorm, shape: tuple) -> None:
        """Warn (once per layer) that ``norm`` falls back on its running statistics, or raise."""
        attr = next((n for n, m in self.named_children() if m is norm), type(norm).__name__)
        where = describe(self)
        seen = (f"{where}: the generator's {attr} (BatchNorm, training mode) got a single value "
                f'per channel (generator input of shape {shape}: a batch of one per '
                f'process, e.g. the last batch of an epoch)')
        if norm.running_mean is None or norm.running_var is None:
            raise ValueError(
                f'{seen} and has no running statistics to fall back on (track_running_stats=False). '
                f'Put a norm that needs no batch in the generator; its norm_cfg goes inside act_cfg: '
                f"act_cfg=dict(type={type(self).__name__!r}, norm_cfg=dict(type='GN', num_groups=...)) "
                f'(or {_NORM_ALTERNATIVES}). Or set norm_eval=True on the backbone, which keeps '
                f"every BN, the generators' included, in eval mode.")
        if not getattr(self, '_warned_one_value', False):
            self._warned_one_value = True
            warnings.warn(
                f'{seen}; it uses its running statistics for such calls, without updating '
                f'them (warned once per layer). To train the generator on them, put '
                f"act_cfg=dict(type={type(self).__name__!r}, norm_cfg=dict(type='GN', "
                f"num_groups=...)) or set norm_eval=True on the backbone.", UserWarning,
                stacklevel=3)

    def generate_beta(self, x: Tensor) -> Tensor:
        """beta = sigmoid(G(x)): (N, C, 1, 1), (N, 1, 1, 1) or (N, 1, H, W) by mode.

        An input without elements (N, H or W = 0, e.g. a RoI head given no RoIs) gets
        :meth:`_beta_of_nothing`.
        """
        if x.numel() == 0:
            return self._beta_of_nothing(x)
        if self.mode == 'channel':
            # The 1x1 convs act on (N, C, 1, 1): run them as matrix products on (N, C),
            # which cost microseconds where a convolution call costs ~0.3 ms on CPU. On
            # CPU the tiny gate runs on one thread (its BNs would wake the thread pool).
            params = [p for m in (self.fc1, self.bn1, self.fc2, self.bn2) for p in m.parameters()]
            return single_threaded(self._generator, spatial_mean(x, (2, 3)), params)
        if self.mode == 'layer':
            return self._generator(spatial_mean(x, (1, 2, 3)))
        return self._generator(x)

    def _generator(self, z: Tensor) -> Tensor:
        """sigmoid(G) of the pooled input: (M, C, 1, 1) means ('channel'), (M, 1, 1, 1)
        means ('layer') or the (M, C, H, W) input itself ('pixel')."""
        if self.mode == 'channel':
            y = _pointwise(z, self.fc1)[:, :, None, None]
            y = self._norm(self.bn1, y)
            y = _pointwise(y, self.fc2)[:, :, None, None]
            y = self._norm(self.bn2, y)
        elif self.mode == 'layer':
            y = _pointwise(z, self.fc)[:, :, None, None]
        else:
            y = self._norm(self.bn, self.fc(z))
        return torch.sigmoid(y)

    def _beta_of_nothing(self, x: Tensor) -> Tensor:
        """beta for an ``x`` without elements: zeros of the mode's shape, multiplying nothing.

        The generator runs on zero rows, so that each of its parameters is in the graph
        and gets a zero gradient, as through the formula (DDP expects a gradient of every
        parameter from every process), while no norm sees a value: no BN statistic moves,
        ``num_batches_tracked`` included, and no single-value warning; a SyncBN across
        processes still joins its peers. The mean of an empty map is never taken.
        """
        n, c, h, w = x.shape
        rows = x.new_zeros((0, 1 if self.mode == 'layer' else c, 1, 1))
        shape = {'channel': (n, c, 1, 1), 'layer': (n, 1, 1, 1), 'pixel': (n, 1, h, w)}
        return self._generator(rows).sum(0, keepdim=True).expand(shape[self.mode])

    def _fused(self, x: Tensor) -> tuple:
        """(the fused node that runs this call or None, why not; see mmacon.ops.choose)."""
        if self.mode != 'channel':
            return None, f"mode={self.mode!r}: only the channel-wise generator is fused"
        p, m = self._parameters, self._modules
        return choose('meta_acon_fused', self.impl, x, p['p1'], p['p2'], m['fc1'], m['bn1'],
                      m['fc2'], m['bn2'])

    def explain_fused(self, x: Tensor) -> str | None:
        """Why this call does not take a fused node (None when it does)."""
        name, why = self._fused(x)
        return None if name is not None else why

    def forward(self, x: Tensor) -> Tensor:
        check_input(type(self).__name__, x, self.channels, ndim=4)
        name = self._fused(x)[0]
        if name is not None:
            # one autograd node for mean, generator and ACON-C (mmacon.ops.cpu_meta_acon)
            p, m = self._parameters, self._modules
            bn1, bn2 = m['bn1'], m['bn2']
            running = (self._one_value(bn1, x), self._one_value(bn2, x))
            return META_ACON_FUSED[name].meta_acon_c(x, p['p1'], p['p2'], m['fc1'], bn1,
                                                     m['fc2'], bn2, running)
        return acon_c(x, self.p1, self.p2, self.generate_beta(x), self.impl)

    def _one_value(self, norm: nn.Module, x: Tensor) -> bool:
        # the generator's norms see (N, *, 1, 1): N values per channel
        if not _one_value_per_channel(norm, x.size(0)):
            return False
        self._check_one_value(norm, (1, norm.num_features, 1, 1))
        return True

    def extra_repr(self) -> str:
        return f'{self.channels}, reduction={self.reduction}, mode={self.mode!r}, init={self.init!r}'
