"""Blur IG: the blur against scipy, completeness against the most blurred image, the
paper's forward difference against the exact derivative, PAIR's ``saliency`` as an
independent implementation, and refusals of bad arguments."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from iglib.variants.blur_ig import blur_integrated_gradients, blur_path, gaussian_blur

D = torch.float64


@pytest.fixture(autouse=True)
def _keep_global_rng():
    with torch.random.fork_rng():
        yield


def conv(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 5)).to(D).eval()


def images(n: int = 2, h: int = 10, w: int = 12, seed: int = 1) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(n, 3, h, w, dtype=D)


def test_the_blur_is_scipys_gaussian_filter_with_zeros_outside_the_frame():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = images()
    for sigma in (0.3, 1.0, 2.5, 6.0):
        ours = gaussian_blur(x, torch.tensor([sigma]))[0].numpy()
        theirs = ndimage.gaussian_filter(x.numpy(), sigma=[0, 0, sigma, sigma], mode="constant")
        np.testing.assert_allclose(ours, theirs, atol=5e-5)  # scipy cuts the kernel at 4 sigma
    assert torch.equal(gaussian_blur(x, torch.tensor([0.0]))[0], x)


@pytest.mark.parametrize("max_sigma, n_steps", [(3.0, 40), (50.0, 100)])
def test_completeness_against_the_most_blurred_image(max_sigma, n_steps):
    model, x = conv(), images()
    a, delta = blur_integrated_gradients(model, x, target=[1, 3], max_sigma=max_sigma, n_steps=n_steps,
                                         return_convergence_delta=True)
    with torch.no_grad():
        most_blurred = gaussian_blur(x, torch.tensor([max_sigma]))[0]
        change = model(x)[[0, 1], [1, 3]] - model(most_blurred)[[0, 1], [1, 3]]
    torch.testing.assert_close(a.reshape(2, -1).sum(1) - delta, change)
    assert (delta.abs() <= 0.01 * change.abs()).all(), (delta, change)
    assert a.shape == x.shape and a.abs().max() > 0


def test_the_forward_difference_approaches_the_exact_derivative():
    model, x = conv(), images(n=1)
    exact = blur_integrated_gradients(model, x, target=0, max_sigma=4.0, n_steps=30)
    coarse = blur_integrated_gradients(model, x, target=0, max_sigma=4.0, n_steps=30, grad_step=0.1)
    fine = blur_integrated_gradients(model, x, target=0, max_sigma=4.0, n_steps=30, grad_step=1e-4)
    assert (fine - exact).abs().max() < 1e-2 * (coarse - exact).abs().max()


def test_a_constant_image_far_from_the_frame_gets_nothing_in_its_middle():
    # blurring a constant region leaves its middle unchanged for small sigma: dz/dsigma = 0 there
    model = conv()
    x = torch.ones(1, 3, 24, 24, dtype=D)
    a = blur_integrated_gradients(model, x, target=2, max_sigma=1.0, n_steps=20)
    assert a[..., 8:16, 8:16].abs().max() < 1e-9 * a.abs().max()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(inputs=torch.rand(2, 12, dtype=D)), ValueError, r"inputs must be images \[N, C, H, W\].*got shape \(2, 12\)"),
    (dict(max_sigma=0), ValueError, "max_sigma must be a number of pixels > 0.*got 0"),
    (dict(max_sigma="wide"), TypeError, "max_sigma must be a number of pixels > 0.*got 'wide'"),
    (dict(grad_step=-0.01), ValueError, "grad_step must be None .* or a step in pixels > 0, got -0.01"),
    (dict(n_steps=0), ValueError, "n_steps must be >= 1, got 0"),
    (dict(method="simpson"), ValueError, "method must be one of .*got 'simpson'"),
    (dict(target=9), ValueError, "target 9 is out of range"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = dict(inputs=images(), target=0, max_sigma=2.0, n_steps=4, **{})
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        blur_integrated_gradients(conv(), **arguments)


def test_blur_path_ends_at_the_image():
    x = images()
    path = blur_path(x, 5.0)
    ends = path(torch.tensor([0.0, 1.0], dtype=D))
    assert torch.equal(ends[1], x)
    torch.testing.assert_close(ends[0], gaussian_blur(x, torch.tensor([5.0]))[0])


# ---------------------------------------------------------------- PAIR's saliency package
def test_agrees_with_pair_saliency():
    saliency = pytest.importorskip("saliency.core")
    model, x = conv(seed=3), images(n=1, h=12, w=12, seed=4)

    def call_model_function(batch, call_model_args=None, expected_keys=None):  # PAIR's images are [B, H, W, C]
        z = torch.as_tensor(np.asarray(batch), dtype=D).permute(0, 3, 1, 2).requires_grad_(True)
        (g,) = torch.autograd.grad(model(z)[:, 4].sum(), z)
        return {expected_keys[0]: g.permute(0, 2, 3, 1).numpy()}

    for max_sigma, steps in [(5.0, 40), (50.0, 100)]:
        theirs = saliency.BlurIG().GetMask(x[0].permute(1, 2, 0).numpy(), call_model_function, max_sigma=max_sigma,
                                           steps=steps, grad_step=0.01)
        ours = blur_integrated_gradients(model, x, target=4, max_sigma=max_sigma, n_steps=steps,
                                         method="riemann_right", grad_step=0.01)
        ours = ours[0].permute(1, 2, 0).numpy()
        scale = np.abs(theirs).max()
        # apart from scipy cutting its kernel at 4 sigma (8e-4 of the largest value at max_sigma = 50)
        assert np.abs(ours - theirs).max() <= 2e-3 * scale, (np.abs(ours - theirs).max(), scale)
