"""spatial_mean: the values and gradients of ``x.mean``, with a broadcast backward."""
import torch

from mmacon.models.activations.spatial_mean import spatial_mean


def test_values_and_gradients_match_mean_in_float64():
    x = torch.randn(3, 5, 4, 6, dtype=torch.float64, requires_grad=True)
    for dims in ((2, 3), (1, 2, 3)):
        out = spatial_mean(x, dims)
        ref = x.mean(dims, keepdim=True)
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-15)
        g = torch.randn_like(ref)
        (gx,) = torch.autograd.grad(out, x, g)
        (gref,) = torch.autograd.grad(ref, x, g)
        torch.testing.assert_close(gx, gref, rtol=0, atol=1e-15)
        assert torch.autograd.gradcheck(lambda t: spatial_mean(t, dims), (x,))


def test_backward_is_a_broadcast_view_not_a_copy():
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    seen = []
    x.register_hook(lambda grad: seen.append(grad))
    spatial_mean(x, (2, 3)).sum().backward()
    (grad,) = seen
    assert grad.shape == x.shape
    assert grad.stride()[2:] == (0, 0)  # no full-size tensor was written
    torch.testing.assert_close(x.grad, torch.full_like(x, 1 / 64))


def test_second_path_accumulates_into_the_other_gradient():
    # x feeds the mean and an elementwise op, as in Meta-ACON: the sum must be exact.
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    y = (x * 2.0).sum() + (spatial_mean(x) ** 2).sum()
    (gx,) = torch.autograd.grad(y, x)
    expected = 2.0 + 2 * x.detach().mean((2, 3), keepdim=True) / 25
    torch.testing.assert_close(gx, expected.expand_as(x), rtol=0, atol=1e-14)


def test_traces_to_the_same_values():
    x = torch.randn(2, 3, 4, 4)
    traced = torch.jit.trace(lambda t: spatial_mean(t), (x,))
    torch.testing.assert_close(traced(x), x.mean((2, 3), keepdim=True))
