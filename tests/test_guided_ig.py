"""Guided IG: completeness along its own path, IG as the max_dist = 0 limit, PAIR's
``saliency`` as an independent implementation, and refusals of bad arguments."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from iglib import integrated_gradients
from iglib.variants.guided_ig import guided_integrated_gradients

D = torch.float64


@pytest.fixture(autouse=True)
def _keep_global_rng():
    with torch.random.fork_rng():
        yield


def mlp(d: int = 6, classes: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.Softplus(), nn.Linear(16, classes)).to(D).eval()


def conv(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 5)).to(D).eval()


def test_completeness_on_an_mlp_and_a_conv_net():
    torch.manual_seed(1)
    x, base = torch.randn(4, 6, dtype=D), torch.randn(4, 6, dtype=D)
    a, delta = guided_integrated_gradients(mlp(), x, base, target=[0, 1, 2, 0], n_steps=300,
                                           return_convergence_delta=True)
    change = a.sum(1) - delta
    assert (delta.abs() <= 0.01 * change.abs() + 1e-6).all(), (delta, change)
    images = torch.randn(2, 3, 8, 8, dtype=D)
    a, delta = guided_integrated_gradients(conv(), images, None, target=1, n_steps=200, fraction=0.25,
                                           return_convergence_delta=True)
    change = a.reshape(2, -1).sum(1) - delta
    assert a.shape == images.shape
    assert (delta.abs() <= 0.02 * change.abs() + 1e-6).all(), (delta, change)


def test_max_dist_zero_is_ig_on_the_straight_line_with_the_left_rule():
    torch.manual_seed(2)
    x = torch.randn(3, 6, dtype=D)
    gig = guided_integrated_gradients(mlp(), x, 0.5, target=2, n_steps=40, max_dist=0.0)
    ig = integrated_gradients(mlp(), x, 0.5, target=2, n_steps=40, method="riemann_left")
    torch.testing.assert_close(gig, ig, rtol=1e-9, atol=1e-12)


def test_the_path_departs_from_the_straight_line_when_allowed():
    torch.manual_seed(3)
    x = torch.randn(2, 6, dtype=D)
    guided = guided_integrated_gradients(mlp(), x, None, target=0, n_steps=50, max_dist=1.0)
    straight = guided_integrated_gradients(mlp(), x, None, target=0, n_steps=50, max_dist=0.0)
    assert (guided - straight).abs().max() > 1e-3


def test_a_feature_equal_to_its_baseline_gets_zero():
    torch.manual_seed(4)
    x = torch.randn(2, 6, dtype=D)
    base = x.clone()
    base[:, :3] = 0
    a = guided_integrated_gradients(mlp(), x, base, target=1, n_steps=30, max_dist=0.5)
    assert (a[:, 3:] == 0).all() and (a[:, :3] != 0).all()
    assert (guided_integrated_gradients(mlp(), x, x, target=1, n_steps=5) == 0).all()


def test_float32_inputs_give_float32_attributions():
    x = torch.randn(2, 6)
    a = guided_integrated_gradients(mlp().float(), x, target=0, n_steps=20)
    assert a.dtype == torch.float32 and a.shape == x.shape


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_steps=0), ValueError, "n_steps must be >= 1, got 0"),
    (dict(n_steps=2.5), TypeError, "n_steps must be an int >= 1, got 2.5"),
    (dict(fraction=1.5), ValueError, r"fraction must be a number in \[0, 1\].*got 1.5"),
    (dict(fraction=-0.1), ValueError, r"fraction must be a number in \[0, 1\], got -0.1"),
    (dict(fraction="half"), TypeError, r"fraction must be a number in \[0, 1\], got 'half'"),
    (dict(max_dist=2.0), ValueError, r"max_dist must be a number in \[0, 1\].*got 2.0"),
    (dict(max_dist=float("nan")), ValueError, r"max_dist must be a number in \[0, 1\], got nan"),
    (dict(target=7), ValueError, "target 7 is out of range"),
    (dict(baselines=torch.zeros(5)), ValueError, "baselines has shape"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        guided_integrated_gradients(mlp(), torch.randn(2, 6, dtype=D), **{"target": 0, **kwargs})


# ---------------------------------------------------------------- PAIR's saliency package
def test_agrees_with_pair_saliency(monkeypatch):
    saliency = pytest.importorskip("saliency.core")
    # saliency 0.2.1 calls np.quantile(..., interpolation='lower'), a keyword numpy 2 removed
    # (renamed method=); translate it for the duration of this test.
    quantile = np.quantile
    monkeypatch.setattr(np, "quantile",
                        lambda a, q, interpolation="linear", **kw: quantile(a, q, method=interpolation, **kw))
    model = mlp(d=12, classes=3, seed=5)
    torch.manual_seed(6)
    x, base = torch.randn(1, 12, dtype=D), torch.randn(1, 12, dtype=D)

    def call_model_function(batch, call_model_args=None, expected_keys=None):
        z = torch.as_tensor(np.asarray(batch), dtype=D).requires_grad_(True)
        (g,) = torch.autograd.grad(model(z)[:, 2].sum(), z)
        return {saliency.INPUT_OUTPUT_GRADIENTS: g.numpy()}

    for fraction, max_dist in [(0.25, 0.02), (0.1, 0.1), (0.5, 1.0)]:
        theirs = saliency.GuidedIG().GetMask(x[0].numpy(), call_model_function, x_baseline=base[0].numpy(),
                                             x_steps=60, fraction=fraction, max_dist=max_dist)
        ours = guided_integrated_gradients(model, x, base, target=2, n_steps=60, fraction=fraction, max_dist=max_dist)
        np.testing.assert_allclose(ours[0].numpy(), theirs, rtol=1e-7, atol=1e-10)
