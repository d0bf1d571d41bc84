"""adaptive_integrated_gradients: refines where the integrand changes, stops at the tolerance or the budget."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import iglib
from iglib.adaptive import adaptive_simpson


def _tanh_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).eval()


def test_a_linear_model_is_done_after_the_first_nine_evaluations(float64):
    model = nn.Linear(4, 1).eval()
    x = torch.randn(2, 4)
    a, delta, used = adaptive_simpson(model, x, torch.zeros_like(x), n_steps=100, tol=1e-9)
    assert used == [9, 9]
    assert torch.allclose(a, x * model.weight.detach(), atol=1e-12) and delta.abs().max() < 1e-12


def test_converges_to_ig_within_the_tolerance_and_the_budget(float64):
    model = _tanh_net()
    x, base = torch.randn(3, 5) * 3, torch.randn(3, 5)
    target = [0, 1, 2]
    reference = iglib.integrated_gradients(model, x, base, target=target, n_steps=400)
    with torch.no_grad():
        rise = model(x)[range(3), target] - model(base)[range(3), target]
    for tol in (1e-2, 1e-4, 1e-7):
        a, delta, used = adaptive_simpson(model, x, base, target, n_steps=2000, tol=tol)
        assert (delta.abs() <= tol * rise.abs()).all()
        assert max(used) <= 2000
        assert torch.allclose(a, reference, atol=50 * tol * rise.abs().max())
    _, _, few = adaptive_simpson(model, x, base, target, n_steps=2000, tol=1e-2)
    _, _, many = adaptive_simpson(model, x, base, target, n_steps=2000, tol=1e-7)
    assert sum(few) < sum(many)                      # a tighter tolerance costs more evaluations
    _, _, capped = adaptive_simpson(model, x, base, target, n_steps=15, tol=1e-12)
    assert max(capped) <= 15                         # the budget is never exceeded


def test_refines_at_the_kink_of_a_saturating_relu(float64):
    """1 - ReLU(1 - x) from 0 to 3: the integrand jumps at alpha = 1/3, IG = 1 exactly."""
    model = iglib.toys.one_minus_relu()
    a, delta = iglib.adaptive_integrated_gradients(model, torch.tensor([[3.0]]), n_steps=200, tol=1e-6,
                                          return_convergence_delta=True)
    assert a.item() == pytest.approx(1.0, abs=1e-6) and abs(delta.item()) <= 1e-6


def test_batch_is_each_example_alone_and_matches_the_public_api(float64):
    model = _tanh_net(1)
    x = torch.randn(3, 5)
    batch = iglib.adaptive_integrated_gradients(model, x, target=[2, 0, 1], n_steps=60, tol=1e-3,
                                       internal_batch_size=4)
    for i, t in enumerate([2, 0, 1]):
        alone = iglib.adaptive_integrated_gradients(model, x[i : i + 1], target=t, n_steps=60, tol=1e-3)
        assert torch.allclose(batch[i : i + 1], alone, atol=1e-12)


def test_arguments_are_checked():
    model = _tanh_net().float()
    x = torch.randn(1, 5)
    with pytest.raises(ValueError, match="tol must be a relative completeness error > 0"):
        iglib.adaptive_integrated_gradients(model, x, target=0, tol=0)
    with pytest.raises(ValueError, match="n_steps must be >= 3 for adaptive IG"):
        iglib.adaptive_integrated_gradients(model, x, target=0, n_steps=2)


def test_the_split_weighs_per_feature_error_as_well_as_completeness(float64):
    """An interval whose errors cancel in the sum over features (r = 0) but not per feature is refined first."""
    from iglib.adaptive import Interval, _to_split

    zero = torch.zeros(3)
    cancelling = Interval(0.0, 0.5, torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 0.0]]), zero)  # r = 0, e > 0
    constant = torch.ones(3, 2) / 2                                                          # e = 0 (Simpson = trapezoid)
    off = [Interval(0.5, 0.75, constant, zero), Interval(0.75, 1.0, constant, zero)]           # r = 0.25 each
    intervals = [*off[:1], cancelling, off[1]]
    residuals = [iv.residual() for iv in intervals]
    assert residuals == pytest.approx([0.25, 0.0, 0.25]) and cancelling.feature_error() > 0
    assert _to_split(intervals, residuals, room=10) == [1]
