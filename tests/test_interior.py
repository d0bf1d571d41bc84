"""Interior gradients: the evaluations behind the saturation curve give IG exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import iglib
from iglib.interior import interior_gradients, saturation_alpha
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
