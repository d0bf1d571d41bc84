"""Interior gradients: the evaluations behind the saturation curve give IG exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import iglib
from iglib.interior import interior_gradients, saturation_alpha, saturation_path
from iglib.quadrature import METHODS


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).eval()


@pytest.mark.parametrize("method", METHODS)
def test_integrating_the_interior_gradients_is_integrated_gradients(float64, method):
    model = _net()
    x, base = torch.randn(4, 6), torch.randn(4, 6)
    target = [0, 2, 1, 2]
    interior = interior_gradients(model, x, base, target=target, n_steps=17, method=method, internal_batch_size=10)
    ig, delta = iglib.integrated_gradients(model, x, base, target=target, n_steps=17, method=method,
                                           return_convergence_delta=True)
    assert torch.allclose(interior.integrated_gradients(), ig, atol=1e-12)
    assert torch.allclose(interior.convergence_delta(), delta, atol=1e-12)
    assert interior.scores.shape == (17, 4) and interior.gradients.shape == (17, 4, 6)
    with torch.no_grad():
        f = model(base + interior.alphas.reshape(-1, 1, 1) * (x - base))[:, torch.arange(4), target]
    assert torch.allclose(interior.scores, f, atol=1e-12)
    assert torch.allclose(interior.gradient_norms(), interior.gradients.norm(dim=2))


def test_the_saturating_toy_has_its_whole_gradient_before_the_kink(float64):
    """F(x) = 1 - ReLU(1 - x) from 0 to 4: F reaches 1 at alpha = 1/4, and the gradient is 0 after."""
    model = iglib.toys.one_minus_relu()
    interior = interior_gradients(model, torch.tensor([[4.0]]), n_steps=64, method="riemann_middle")
    after = interior.alphas > 0.25
    assert (interior.gradients[after] == 0).all() and (interior.gradients[~after] == 1).all()
    assert saturation_alpha(interior.alphas, interior.scores[:, 0], interior.baseline_scores[0]) == pytest.approx(
        interior.alphas[(interior.alphas * 4 >= 0.9)][0].item())
    assert interior.integrated_gradients().item() == pytest.approx(1.0)


def test_saturation_alpha_closed_form_and_errors():
    alphas = np.linspace(0, 1, 1001)
    assert saturation_alpha(alphas, np.minimum(alphas / 0.2, 1.0)) == pytest.approx(0.18, abs=1.5e-3)
    assert saturation_alpha(alphas, 3 - 2 * alphas, baseline_score=3.0, fraction=0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same length"):
        saturation_alpha(alphas, alphas[:-1])
    with pytest.raises(ValueError, match="fraction must be in"):
        saturation_alpha(alphas, alphas, fraction=1.5)


def test_arguments_are_validated_like_integrated_gradients():
    model = _net().float()
    with pytest.raises(TypeError, match="n_steps must be an int"):
        interior_gradients(model, torch.randn(1, 6), n_steps=2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        interior_gradients(model, torch.randn(1, 6), method="simpson")
    with pytest.raises(ValueError, match="target"):
        interior_gradients(model, torch.randn(1, 6), target=7)


# ---------------------------------------------------------------- the saturation path (notebook 03)
def test_running_ig_is_completeness_along_the_path():
    path = saturation_path(iglib.toys.one_minus_relu(), 2.0, 0.0, n_steps=300, grid=41)
    np.testing.assert_allclose(path.points, 2 * path.alphas, atol=1e-15)
    np.testing.assert_allclose(path.F, np.minimum(2 * path.alphas, 1.0), atol=1e-15)
    np.testing.assert_array_equal(path.gradient, (path.alphas < 0.5).astype(float))
    np.testing.assert_allclose(path.ig, path.F - path.F[0], atol=2 / 300)  # midpoint error <= (x - x') / m
    # the running integral is the m-step midpoint rule: 6 of 10 nodes (k + 1/2) / 10 lie before
    # the kink at alpha = 5/8, so IG = 8 * 6/10 = 4.8, not 5
    coarse = saturation_path(iglib.toys.min_x_5(), 8.0, 0.0, n_steps=10, grid=41)
    assert coarse.ig[-1] == pytest.approx(4.8, abs=1e-12)


def test_saturation_path_arguments_are_checked():
    with pytest.raises(TypeError, match="baseline must be a number"):
        saturation_path(iglib.toys.one_minus_relu(), 2.0, baseline="zero")
    with pytest.raises(ValueError, match="grid must be >= 2"):
        saturation_path(iglib.toys.one_minus_relu(), 2.0, grid=1)


def test_saturation_path_evaluates_F_and_its_gradient_as_interior_gradients_does():
    """On G evenly spaced alphas (the true trapezoid's nodes k / (G - 1)) both give the same F and dF/dx."""
    model = iglib.toys.min_x_5()
    path = saturation_path(model, 8.0, 0.0, grid=17)
    interior = interior_gradients(model, torch.tensor([[8.0]], dtype=torch.float64), n_steps=17, method="riemann_trapezoid")
    np.testing.assert_allclose(interior.alphas.numpy(), path.alphas, atol=1e-15)
    np.testing.assert_allclose(interior.scores[:, 0].numpy(), path.F, atol=1e-12)
    np.testing.assert_allclose(interior.gradients[:, 0, 0].numpy(), path.gradient, atol=1e-12)
