"""Test helper imported by the distributed-training test through ``custom_imports``:
after training each rank saves its model parameters to ``{work_dir}/params_rank{R}.pth``."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ParamDumpHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        params = {k: v.detach().cpu().clone() for k, v in model.named_parameters()}
        torch.save(params, osp.join(runner.work_dir, f'params_rank{get_rank()}.pth'))
