# Shared by every mmacon config (the ACON ones and their ReLU baselines).

# Registers AconResNet, AconC, MetaAconC, ... in mmengine's root MODELS, and
# mmacon.engine's AconOptimWrapperConstructor / AconDecayCheckHook.
custom_imports = dict(imports=['mmacon'], allow_failed_imports=False)

# The official recipe's no-decay rule for p1, p2 and beta is one line in each
# family's ReLU baseline (mmengine refuses a key set by two sibling bases, and
# the upstream base sets ``optim_wrapper``):
#     optim_wrapper = dict(constructor='AconOptimWrapperConstructor')
# It works the same in a config outside this repository (see README.md).
#
# Note for configs inheriting a ReLU baseline: its ``act_cfg`` is None, and
# mmengine cannot merge a dict into None, so ACON configs write
# ``act_cfg=dict(_delete_=True, type=...)``.
