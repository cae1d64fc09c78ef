# Shared by every mmacon config (the ACON ones and their ReLU baselines).
#
# mmengine refuses a key defined by two sibling bases, so this snippet cannot
# set ``optim_wrapper`` next to an upstream config that also sets it. It holds
# the no-decay rule once, as ``acon_paramwise_cfg``, and each family's ReLU
# baseline applies it with
#     optim_wrapper = dict(paramwise_cfg={{_base_.acon_paramwise_cfg}})
# and the ACON configs inherit their baseline and so get it too.

# Registers AconResNet, AconC, MetaAconC, ... in mmengine's root MODELS.
custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)

# Official recipe: p1, p2 and beta of ACON-C / Meta-ACON get no weight decay
# (decaying them hurts). They are 4-D (1, C, 1, 1), so mmengine's
# ``flat_decay_mult`` does not catch them. DefaultOptimWrapperConstructor
# matches a custom key as a substring of the full parameter name
# (e.g. ``backbone.layer2.0.acon.p1``); the leading dot keeps ``'beta'`` from
# hitting names that merely contain it, and no other parameter of the
# supported models contains ``.p1``, ``.p2`` or ``.beta`` (checked by
# tests/test_configs). Matched parameters skip bias/norm_decay_mult rules;
# everything else keeps the upstream recipe.
acon_paramwise_cfg = dict(
    custom_keys={
        '.p1': dict(decay_mult=0.),
        '.p2': dict(decay_mult=0.),
        '.beta': dict(decay_mult=0.),
    })

# Note for configs inheriting a ReLU baseline: its ``act_cfg`` is None, and
# mmengine cannot merge a dict into None, so ACON configs write
# ``act_cfg=dict(_delete_=True, type=...)``.
