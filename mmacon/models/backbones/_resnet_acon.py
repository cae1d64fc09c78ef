"""The ACON part of the ResNet backbones, written once for every scope.

Mixins placed before an upstream class (mmdet's or mmseg's ``BasicBlock``,
``Bottleneck``, ``ResNet``): everything upstream builds stays as upstream builds it; the
mixins only add ACON modules and use them in ``forward``. With ``act_cfg=None`` the
blocks run upstream's own ``forward`` and the network is upstream's, tensor for tensor.
:func:`declare_resnets` declares the classes of each registry (``resnet.py`` for the
root one, ``resnet_mmdet.py``, ``resnet_mmseg.py``) from these mixins.
"""
from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from ._act_factory import ActFactory, check_act_cfg
from ._arg_checks import ArgumentError, check_choice, check_out_indices
from .base import FreezeWhenBuilt, freeze, maybe_checkpoint

ACT_PLACEMENTS = ('paper', 'all')


def add_conv_biases(module: nn.Module) -> int:
    """Give every bias-free convolution under ``module`` a zero-initialised bias.

    Adding the parameter after construction keeps whichever conv type ``conv_cfg`` chose;
    ``weight`` and ``bias`` keep their usual order in the state dict. Returns the number
    of convolutions changed.
    """
    count = 0
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvNd) and m.bias is None:
            m.bias = nn.Parameter(torch.zeros(m.out_channels, device=m.weight.device,
                                              dtype=m.weight.dtype))
            count += 1
    return count


def _factory(owner: str, act_cfg) -> ActFactory:
    """A block's ``act_cfg`` argument: an :class:`ActFactory` (from the backbone), a
    dict (a block built on its own) or None (plain ReLU)."""
    if isinstance(act_cfg, ActFactory):
        return act_cfg
    return ActFactory(owner, check_act_cfg(owner, act_cfg))


class AconBasicBlockMixin:
    """BasicBlock with ``acon1`` (after conv1/bn1) and ``acon2`` (after the add).

    Both activations are replaced under either placement (``'paper'`` or ``'all'``), as
    in the official BasicBlock. With ``act_cfg=None`` it is upstream's BasicBlock.

    Args:
        act_cfg: ACON config without ``channels`` (filled here), the backbone's
            :class:`ActFactory`, or None for ReLU.
        act_placement: ``'paper'`` or ``'all'`` (the same for this block).
        *args, **kwargs: everything upstream's ``BasicBlock`` takes.
    Shape: (N, inplanes, H, W) -> (N, planes, H / stride, W / stride).
    """

    def __init__(self, *args, act_cfg=None, act_placement: str = 'paper', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        act = _factory(type(self).__name__, act_cfg)
        check_choice(type(self).__name__, 'act_placement', act_placement, ACT_PLACEMENTS)
        self.act_placement = act_placement
        self.with_acon = act.enabled
        if act.enabled:
            planes = self.conv2.out_channels
            self.acon1 = act(planes)
            self.acon2 = act(planes)
            del self.relu

    def forward(self, x: Tensor) -> Tensor:
        if not self.with_acon:
            return super().forward(x)

        def _inner_forward(x: Tensor) -> Tensor:
            out = self.acon1(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.acon2(out + identity)

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


class AconBottleneckMixin:
    """Bottleneck whose activations are (partly) ACON.

    ``act_placement='paper'`` (the official ResNet-ACON): only the activation after
    conv2/bn2 becomes ACON, at the inner width ``planes``, named ``acon``; the other two
    stay ReLU. ``'all'``: all three, named ``acon1`` (after bn1, ``planes``), ``acon2``
    (after bn2, ``planes``) and ``acon3`` (after the add, ``planes * 4``).
    With ``act_cfg=None`` it is upstream's Bottleneck.

    Shape: (N, inplanes, H, W) -> (N, planes * 4, H / stride, W / stride).
    """

    def __init__(self, *args, act_cfg=None, act_placement: str = 'paper', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        act = _factory(type(self).__name__, act_cfg)
        check_choice(type(self).__name__, 'act_placement', act_placement, ACT_PLACEMENTS)
        self.act_placement = act_placement
        self.with_acon = act.enabled
        planes = self.planes
        if not act.enabled:
            return
        if act_placement == 'paper':
            self.acon = act(planes)
            self.act_names = ('relu', 'acon', 'relu')
        else:
            self.acon1 = act(planes)
            self.acon2 = act(planes)
            self.acon3 = act(planes * self.expansion)
            del self.relu
            self.act_names = ('acon1', 'acon2', 'acon3')

    def forward(self, x: Tensor) -> Tensor:
        if not self.with_acon:
            return super().forward(x)
        act1, act2, act3 = (getattr(self, name) for name in self.act_names)

        def _inner_forward(x: Tensor) -> Tensor:
            out = act1(self.norm1(self.conv1(x)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = act2(self.norm2(self.conv2(out)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv2_plugin_names)
            out = self.norm3(self.conv3(out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv3_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            return act3(out + identity)

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


class AconResNetMixin(FreezeWhenBuilt):
    """ACON on top of an upstream ``ResNet``: its arguments and defaults, plus

    Args:
        act_cfg: the ACON module replacing ReLU, without ``channels`` (the backbone fills
            it), e.g. ``dict(type='MetaAconC')`` (default), ``dict(type='AconC')``,
            ``dict(type='MetaAconC', reduction=8)``. ``None`` or ``dict(type='ReLU')``:
            upstream's ResNet. A Meta-ACON generator's norm is the backbone's
            ``norm_cfg`` unless ``act_cfg`` sets ``norm_cfg``.
        act_placement: ``'paper'`` (default, the official models): one ACON per
            Bottleneck after conv2/bn2 (``layerX.Y.acon``), both activations of a
            BasicBlock (``acon1``, ``acon2``), stem ReLU kept. ``'all'``: every
            activation, stem included (``acon1`` at top level for the 7x7 stem,
            ``stem.2/5/8`` for the deep stem; ``acon1..3`` in a Bottleneck).
        conv_bias: put a zero-initialised bias on every convolution, as the official
            checkpoints have (use with ``style='caffe'`` to load them).

    Subclasses (:func:`declare_resnets`) set ``upstream`` (the upstream ResNet class),
    ``arch_settings`` with the ACON blocks and ``defaults`` (arguments whose default
    differs from upstream's); ``stem_channels=None`` means ``base_channels``. Argument
    errors are :class:`ArgumentError` (a ``ValueError`` and an ``AssertionError``, as
    upstream's asserts) naming the value; ``frozen_stages`` and
    ``norm_eval`` also cover the ACON modules (Meta-ACON generators' BNs included) and
    the conv biases: stages are frozen once the whole network exists
    (:class:`FreezeWhenBuilt`).
    """

    upstream: type
    # arguments whose default differs from upstream's (the root family's stem_channels)
    defaults: dict = {}

    def __init__(self, depth: int, *args, act_cfg: dict | None = dict(type='MetaAconC'),
                 act_placement: str = 'paper', conv_bias: bool = False, **kwargs) -> None:
        name = type(self).__name__
        try:
            bound = inspect.signature(self.upstream.__init__).bind(self, depth, *args,
                                                                   **kwargs)
        except TypeError as err:
            valid = [p for p in inspect.signature(self.upstream.__init__).parameters
                     if p != 'self'] + ['act_cfg', 'act_placement', 'conv_bias']
            raise TypeError(f'{name}: {err}; valid arguments: {", ".join(valid)}') from err
        for key, value in self.defaults.items():
            bound.arguments.setdefault(key, value)
        bound.apply_defaults()
        args = dict(bound.arguments)
        del args['self']
        if args.get('stem_channels', 0) is None:  # mmdet's meaning, for mmseg's ResNet too
            args['stem_channels'] = args['base_channels']
        self._check_arguments(name, args)
        check_choice(name, 'act_placement', act_placement, ACT_PLACEMENTS)
        args['out_indices'] = check_out_indices(name, args['out_indices'], args['num_stages'])
        # Read by make_res_layer/_make_stem_layer, which upstream's __init__ calls.
        self.act_cfg = check_act_cfg(name, act_cfg)
        self.act_placement = act_placement
        self.conv_bias = conv_bias
        self._act = ActFactory(name, self.act_cfg, norm_cfg=args['norm_cfg'])
        self._zero_init_blocks = (args['zero_init_residual'] and args['init_cfg'] is None
                                  and args['pretrained'] is None)
        super().__init__(**args)
        del self._act  # construction only: keeps the module picklable and deep-copyable
        if conv_bias:
            add_conv_biases(self)

    def _check_arguments(self, name: str, args: dict) -> None:
        depth, num_stages = args['depth'], args['num_stages']
        if depth not in self.arch_settings:
            raise KeyError(f'{name}: invalid depth {depth!r}, '
                           f'valid depths are {tuple(self.arch_settings)}')
        if isinstance(num_stages, bool) or not isinstance(num_stages, int) or \
                not 1 <= num_stages <= 4:
            raise ArgumentError(f'{name}: num_stages must be 1..4, got {num_stages!r}')
        strides, dilations = tuple(args['strides']), tuple(args['dilations'])
        if not len(strides) == len(dilations) == num_stages:
            raise ArgumentError(f'{name}: strides {strides} and dilations {dilations} need '
                                f'one entry per stage (num_stages={num_stages})')
        check_choice(name, 'style', args['style'], ('pytorch', 'caffe'))

    def make_res_layer(self, **kwargs):
        """Upstream's stage of the ACON blocks; zero-init of the last norm as upstream."""
        if self._zero_init_blocks:
            last_norm = 'norm3' if self.block.expansion == 4 else 'norm2'
            kwargs['init_cfg'] = dict(type='Constant', val=0, override=dict(name=last_norm))
        return super().make_res_layer(act_cfg=self._act, act_placement=self.act_placement,
                                      **kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        super()._make_stem_layer(in_channels, stem_channels)
        if not self._act.enabled or self.act_placement != 'all':
            return
        if self.deep_stem:
            for index, channels in ((2, stem_channels // 2), (5, stem_channels // 2),
                                    (8, stem_channels)):
                self.stem[index] = self._act(channels)
        else:
            self.acon1 = self._act(stem_channels)
            del self.relu

    def _freeze_stages(self) -> None:
        if self.under_construction:  # upstream's __init__ calls it before the conv biases
            return
        super()._freeze_stages()
        if self.frozen_stages >= 0 and hasattr(self, 'acon1'):
            freeze(self.acon1)

    def train(self, mode: bool = True):
        """As upstream's ``train`` (frozen stages, ``norm_eval``), but returns ``self``."""
        super().train(mode)
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """(N, C_in, H, W) -> tuple of the ``out_indices`` stage outputs."""
        if self.deep_stem:
            x = self.stem(x)
        else:
            act = self.acon1 if hasattr(self, 'acon1') else self.relu
            x = act(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


# depth -> (block kind, blocks per stage), as upstream's ResNet.arch_settings
DEPTHS = {18: ('basic', (2, 2, 2, 2)), 34: ('basic', (3, 4, 6, 3)),
          50: ('bottleneck', (3, 4, 6, 3)), 101: ('bottleneck', (3, 4, 23, 3)),
          152: ('bottleneck', (3, 8, 36, 3))}


def _signature(upstream: type, defaults: dict, fixed: tuple = ()) -> inspect.Signature:
    """``upstream``'s constructor signature with ``defaults`` and the ACON arguments, less
    ``fixed`` (then keyword-only, as the V1c/V1d constructors take them)."""
    params = []
    for name, param in inspect.signature(upstream.__init__).parameters.items():
        if name == 'self' or name in fixed:
            continue
        if name in defaults:
            param = param.replace(default=defaults[name])
        params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY) if fixed else param)
    init = inspect.signature(AconResNetMixin.__init__).parameters
    params += [init[name] for name in ('act_cfg', 'act_placement', 'conv_bias')]
    return inspect.Signature(params)


def declare_resnets(upstream, registry, module: str, *, doc: str, v1c_doc: str,
                    v1d_doc: str, defaults: dict | None = None) -> tuple[type, ...]:
    """The ACON ResNet family of one registry, declared once for the three of them.

    Builds ``AconBasicBlock``/``AconBottleneck`` on ``upstream``'s (mmdet's or mmseg's
    ``resnet`` module) blocks, ``AconResNet`` (:class:`AconResNetMixin` on
    ``upstream.ResNet``, those blocks in ``arch_settings``, ``defaults`` where its
    defaults differ from upstream's), ``AconResNetV1c`` (deep stem) and ``AconResNetV1d``
    (deep stem, avg-pool downsampling); registers the three backbones in ``registry``.
    The classes are named as if written in ``module`` (``__module__``, ``__qualname__``,
    the docstrings given) and carry their full signature (upstream's arguments and the
    ACON ones), so ``help()``, pickling and the registry see them there. Returns
    ``(AconBasicBlock, AconBottleneck, AconResNet, AconResNetV1c, AconResNetV1d)``, for
    ``module`` to assign under those names.
    """
    defaults = dict(defaults or {})

    class AconBasicBlock(AconBasicBlockMixin, upstream.BasicBlock):
        __doc__ = AconBasicBlockMixin.__doc__

    class AconBottleneck(AconBottleneckMixin, upstream.Bottleneck):
        __doc__ = AconBottleneckMixin.__doc__

    blocks = dict(basic=AconBasicBlock, bottleneck=AconBottleneck)

    class AconResNet(AconResNetMixin, upstream.ResNet):
        __doc__ = doc
        arch_settings = {depth: (blocks[kind], stages)
                         for depth, (kind, stages) in DEPTHS.items()}

    class AconResNetV1c(AconResNet):
        __doc__ = v1c_doc

        def __init__(self, **kwargs) -> None:
            super().__init__(deep_stem=True, avg_down=False, **kwargs)

    class AconResNetV1d(AconResNet):
        __doc__ = v1d_doc

        def __init__(self, **kwargs) -> None:
            super().__init__(deep_stem=True, avg_down=True, **kwargs)

    AconResNet.upstream = upstream.ResNet
    AconResNet.defaults = defaults
    AconResNet.__signature__ = _signature(upstream.ResNet, defaults)
    for cls in (AconResNetV1c, AconResNetV1d):
        cls.__signature__ = _signature(upstream.ResNet, defaults, ('deep_stem', 'avg_down'))
    family = (AconBasicBlock, AconBottleneck, AconResNet, AconResNetV1c, AconResNetV1d)
    for cls in family:
        cls.__module__ = module
        cls.__qualname__ = cls.__name__
        if '__init__' in vars(cls):
            cls.__init__.__qualname__ = f'{cls.__name__}.__init__'
    for cls in family[2:]:
        registry.register_module(module=cls)
    return family
