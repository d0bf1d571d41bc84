"""iglib.checks.completeness: |delta| / |F(x) - F(x')| per rule and step count, exact on a linear model,
Captum's biased trapezoid against Captum itself."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from iglib.checks.completeness import CAPTUM_TRAPEZOID, relative_completeness_errors


def linear_model() -> nn.Module:
    """F(x) = w . x + b: the integrand of IG is constant, so every true rule is exact."""
    model = nn.Linear(3, 1).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
        model.bias.fill_(0.25)
    return model.eval()


def relu_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)).double().eval()


X_LINEAR = torch.tensor([[2.0, 1.0, -4.0]], dtype=torch.float64)  # F(x) - F(x') = 2 - 2 - 2 = -2


def test_captum_trapezoid_matches_captum():
    captum_ig = pytest.importorskip("captum.attr").IntegratedGradients
    steps_and_alphas = pytest.importorskip("captum.attr._utils.approximation_methods").approximation_parameters
    m = 16
    step_sizes, alphas = steps_and_alphas("riemann_trapezoid")
    assert sum(step_sizes(m)) == pytest.approx((m - 1) / m, rel=1e-12)  # the bias this rule stands for
    assert np.allclose(alphas(m), np.arange(m) / (m - 1), atol=1e-7)
    model = relu_net(2)
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2
    ours = relative_completeness_errors(model, x, target=0, steps=(m,), methods=(CAPTUM_TRAPEZOID,))[CAPTUM_TRAPEZOID]
    _, delta = captum_ig(model).attribute(x, target=0, n_steps=m, method="riemann_trapezoid", return_convergence_delta=True)
    with torch.no_grad():
        change = (model(x) - model(torch.zeros_like(x)))[:, 0]
    assert ours.shape == (1, 3)
    assert np.allclose(ours[0], (delta.abs() / change.abs()).numpy(), rtol=1e-6)


def test_flat_F_gives_an_undefined_relative_error():
    model = linear_model()
    x = torch.cat([X_LINEAR, 2 * X_LINEAR, torch.tensor([[2.0, 1.0, 0.0]], dtype=torch.float64)])  # last: F(x) = F(x')
    errors = relative_completeness_errors(model, x, steps=(4, 8), methods=(CAPTUM_TRAPEZOID, "riemann_middle"))
    assert errors[CAPTUM_TRAPEZOID].shape == errors["riemann_middle"].shape == (2, 3)
    assert np.allclose(errors[CAPTUM_TRAPEZOID][:, :2], [[1 / 4, 1 / 4], [1 / 8, 1 / 8]], rtol=1e-12)
    assert not np.isfinite(errors[CAPTUM_TRAPEZOID][:, 2]).any()  # relative to a zero change: undefined


def test_bad_step_values_are_named():
    with pytest.raises(TypeError, match="steps must be an int >= 1, got 2.5"):
        relative_completeness_errors(linear_model(), X_LINEAR, steps=(2.5,))
