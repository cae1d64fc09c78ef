"""mmacon.models.backbones._checkpointing: non-reentrant checkpointing when asked."""
import torch
import torch.utils.checkpoint as torch_checkpoint

from mmacon.models.backbones._checkpointing import maybe_checkpoint


def test_checkpoints_only_with_cp_and_grad(monkeypatch):
    calls = []
    real = torch_checkpoint.checkpoint

    def spy(*args, **kwargs):
        calls.append(kwargs.get('use_reentrant'))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch_checkpoint, 'checkpoint', spy)
    x = torch.rand(3, requires_grad=True)
    fn = torch.sin
    y = maybe_checkpoint(fn, x, with_cp=True)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.cos(x))
    assert calls == [False]
    maybe_checkpoint(fn, x, with_cp=False)
    with torch.no_grad():
        maybe_checkpoint(fn, x, with_cp=True)
    assert calls == [False]
