"""Integrated Hessians: the closed form on F = x1 x2, rows summing to IG, zero for a dummy
feature, the paper's double integral (and its diagonal) computed independently here, and
refusals of bad arguments."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from iglib import integrated_gradients
from iglib.variants.integrated_hessians import integrated_hessians, top_interactions

D = torch.float64


@pytest.fixture(autouse=True)
def _keep_global_rng():
    with torch.random.fork_rng():
        yield


class Product(nn.Module):
    """F(x) = x1 x2; x3 is a dummy feature."""

    def forward(self, x):
        return x[:, 0] * x[:, 1] + 0 * x[:, 2]


def mlp(d: int = 4, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 8), nn.Softplus(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).to(D).eval()


def test_closed_form_on_x1_x2_at_baseline_zero():
    # Gamma_12 = x1 x2 int int alpha beta = x1 x2 / 4; IG_1 = IG_2 = x1 x2 / 2, so Gamma_11 = Gamma_22 = x1 x2 / 4.
    x = torch.tensor([[3.0, -2.0, 5.0], [0.5, 4.0, -1.0]], dtype=D)
    gamma = integrated_hessians(Product().eval(), x, n_steps=32)
    p = x[:, 0] * x[:, 1]
    expected = torch.zeros(2, 3, 3, dtype=D)
    expected[:, :2, :2] = (p / 4)[:, None, None]
    torch.testing.assert_close(gamma, expected, rtol=1e-9, atol=1e-12)
    ig = integrated_gradients(Product().eval(), x, n_steps=8)
    torch.testing.assert_close(gamma.sum(2), ig, rtol=1e-12, atol=1e-12)
    assert (gamma[:, 2, :] == 0).all() and (gamma[:, :, 2] == 0).all()   # the dummy interacts with nothing


def test_closed_form_on_x1_x2_from_another_baseline():
    # Gamma_12 = d1 d2 / 4 and IG_1 = d1 (x2' + d2 / 2) for any baseline, d = x - x'.
    x, base = torch.tensor([[3.0, -2.0, 5.0]], dtype=D), torch.tensor([[1.0, 1.0, 2.0]], dtype=D)
    gamma = integrated_hessians(Product().eval(), x, base, n_steps=32)
    d = x - base
    assert gamma[0, 0, 1].item() == pytest.approx((d[0, 0] * d[0, 1] / 4).item(), rel=1e-10)
    assert gamma[0, 0].sum().item() == pytest.approx((d[0, 0] * (base[0, 1] + d[0, 1] / 2)).item(), rel=1e-10)
    assert gamma[0, 1].sum().item() == pytest.approx((d[0, 1] * (base[0, 0] + d[0, 0] / 2)).item(), rel=1e-10)


def paper_integrated_hessians(model, x, base, target, m=24):
    """The paper's definition, written independently: the double integral over alpha and beta
    with a tensor-product Gauss-Legendre rule, Hessians by torch.func, and the paper's own
    diagonal d_i int int dF/dx_i + d_i^2 int int alpha beta d2F/dx_i^2."""
    nodes, weights = np.polynomial.legendre.leggauss(m)
    a, w = torch.tensor((nodes + 1) / 2, dtype=D), torch.tensor(weights / 2, dtype=D)
    f = lambda z: model(z[None])[0, target]  # noqa: E731
    d = x - base
    second = torch.zeros(len(x), len(x), dtype=D)
    first = torch.zeros(len(x), dtype=D)
    for i in range(m):
        for j in range(m):
            z = base + a[i] * a[j] * d
            second += w[i] * w[j] * a[i] * a[j] * torch.func.hessian(f)(z)
            first += w[i] * w[j] * torch.func.grad(f)(z)
    gamma = d[:, None] * d[None, :] * second
    gamma.diagonal().add_(d * first)
    return gamma


def test_agrees_with_the_papers_double_integral_on_a_smooth_network():
    model = mlp()
    torch.manual_seed(1)
    x, base = torch.randn(2, 4, dtype=D), torch.randn(2, 4, dtype=D)
    gamma, delta = integrated_hessians(model, x, base, target=1, n_steps=32, return_convergence_delta=True)
    for n in range(2):
        torch.testing.assert_close(gamma[n], paper_integrated_hessians(model, x[n], base[n], 1), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(gamma, gamma.transpose(1, 2))                                     # symmetric
    torch.testing.assert_close(gamma.sum(2), integrated_gradients(model, x, base, target=1, n_steps=32))
    change = model(x)[:, 1] - model(base)[:, 1]
    assert (delta.abs() <= 1e-6 * change.abs()).all()


def test_a_linear_model_has_no_interactions():
    torch.manual_seed(2)
    model = nn.Linear(5, 3).to(D).eval()
    x = torch.randn(3, 5, dtype=D)
    gamma = integrated_hessians(model, x, target=[0, 1, 2], n_steps=8)
    ig = integrated_gradients(model, x, target=[0, 1, 2], n_steps=8)
    torch.testing.assert_close(gamma, torch.diag_embed(ig))


def test_features_keep_their_shape_twice_and_chunking_changes_nothing():
    torch.manual_seed(3)
    net = mlp(d=6)
    model = lambda z: net(z.reshape(len(z), 6))  # noqa: E731
    x = torch.randn(2, 2, 3, dtype=D)
    gamma = integrated_hessians(model, x, target=0, n_steps=10)
    assert gamma.shape == (2, 2, 3, 2, 3)
    flat = integrated_hessians(net, x.reshape(2, 6), target=0, n_steps=10, internal_batch_size=2)
    torch.testing.assert_close(gamma.reshape(2, 6, 6), flat)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_steps=0), ValueError, "n_steps must be >= 1, got 0"),
    (dict(method="simpson"), ValueError, "method must be one of .*got 'simpson'"),
    (dict(target=5), ValueError, "target 5 is out of range"),
    (dict(baselines=torch.zeros(3, dtype=D)), ValueError, "baselines has shape"),
    (dict(inputs=(torch.zeros(2, 4, dtype=D),)), TypeError, "inputs must be a single torch.Tensor"),
    (dict(internal_batch_size=0), ValueError, "internal_batch_size must be >= 1, got 0"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = dict(inputs=torch.randn(2, 4, dtype=D), target=0, n_steps=4)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        integrated_hessians(mlp(), **arguments)


def test_top_interactions_orders_the_pairs_by_size():
    gamma = torch.tensor([[9.0, -3.0, 1.0], [-3.0, 7.0, 2.0], [1.0, 2.0, 5.0]])
    assert top_interactions(gamma) == [(0, 1, -3.0), (1, 2, 2.0), (0, 2, 1.0)]     # the diagonal is not a pair
    assert top_interactions(gamma, 1) == [(0, 1, -3.0)] and top_interactions(gamma, 0) == []
    tied = torch.tensor([[0.0, 1.0, -1.0], [1.0, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    assert [p[:2] for p in top_interactions(tied)] == [(0, 1), (0, 2), (1, 2)]    # ties: row-major order
    gamma = integrated_hessians(Product().eval(), torch.tensor([[3.0, -2.0, 5.0]], dtype=D), n_steps=32)[0]
    i, j, value = top_interactions(gamma, 1)[0]
    assert (i, j) == (0, 1) and value == pytest.approx(-1.5, rel=1e-9)


@pytest.mark.parametrize("gamma, k, match", [
    (torch.zeros(2, 3, 3), None, r"square matrix \[D, D\], got shape \(2, 3, 3\)"),
    (torch.zeros(3, 2), None, r"got shape \(3, 2\)"),
    (torch.zeros(3, 3), -1, "k must be >= 0, got -1"),
])
def test_top_interactions_refuses_bad_arguments(gamma, k, match):
    with pytest.raises(ValueError, match=match):
        top_interactions(gamma, k)
    with pytest.raises(TypeError, match="k must be an int >= 0, got 1.5"):
        top_interactions(torch.zeros(3, 3), 1.5)


def test_relu_interactions_sit_on_the_kink_and_softplus_recovers_them():
    # AND = ReLU(x1 + x2 - 1) at (1, 1) from 0: the path crosses the kink at t = 1/2, where
    # d2F/dx1dx2 = delta(2t - 1), so Gamma_12 = int t (-ln t) delta(2t - 1) dt = ln(2) / 4.
    # Autograd evaluates the Hessian between kinks: zero. SoftPlus_beta converges to ln(2) / 4.
    x = torch.ones(1, 2, dtype=D)
    relu = integrated_hessians(lambda v: torch.relu(v.sum(1) - 1), x, n_steps=64)
    assert relu[0, 0, 1] == 0 and relu[0, 1, 0] == 0
    errors = []
    for beta in (10.0, 100.0):
        gamma = integrated_hessians(lambda v: torch.nn.functional.softplus(v.sum(1) - 1, beta=beta), x, n_steps=512)
        errors.append(abs(gamma[0, 0, 1].item() - np.log(2) / 4))
    assert errors[1] < errors[0] / 10 and errors[1] < 1e-4
