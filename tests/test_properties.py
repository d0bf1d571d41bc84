"""The axioms of section 2, checked by hypothesis on random small networks.

Every network is a small MLP (2-6 inputs, 1-2 hidden layers of width <= 8, float64) whose
weights, input and baseline come from one drawn seed, with ReLU or tanh activations. ReLU
networks are integrated exactly (iglib.exact); tanh networks by Gauss-Legendre quadrature,
which converges geometrically on their analytic integrands.
"""
from __future__ import annotations

from dataclasses import dataclass

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given, settings
from torch import Tensor, nn

from iglib.exact import breakpoints, exact_integrated_gradients
from iglib.integrated_gradients import integrated_gradients
from iglib.quadrature import METHODS


PROPERTY = settings(max_examples=25, deadline=None, derandomize=True)


pytestmark = pytest.mark.usefixtures("float64_module", "one_thread")  # tests/conftest.py


def mlp(seed: int, n_in: int, widths: list[int], activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers of the given widths with ``activation`` between them, one output per example."""
    gen = torch.Generator().manual_seed(seed)
    layers, d = [], n_in
    for w in widths + [1]:
        linear = nn.Linear(d, w)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(w, d, generator=gen) * 1.5 / d**0.5)
            linear.bias.copy_(torch.randn(w, generator=gen) * 0.5)
        layers += [linear, activation()]
        d = w
    return nn.Sequential(*layers[:-1], nn.Flatten(0)).eval()


@dataclass
class Case:
    net: nn.Module
    x: Tensor  # [3, n]
    base: Tensor  # [3, n]
    seed: int
    widths: list[int]


@st.composite
def cases(draw, activation: type[nn.Module], min_inputs: int = 2) -> Case:
    seed = draw(st.integers(0, 2**31 - 1))
    n_in = draw(st.integers(min_inputs, 6))
    widths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=2))
    gen = torch.Generator().manual_seed(seed + 1)
    x = 2 * torch.randn(3, n_in, generator=gen)
    base = torch.randn(3, n_in, generator=gen) if draw(st.booleans()) else torch.zeros(3, n_in)
    return Case(mlp(seed, n_in, widths, activation), x, base, seed, widths)


relu_cases, tanh_cases = cases(nn.ReLU), cases(nn.Tanh)
any_cases = st.one_of(relu_cases, tanh_cases)


def is_relu(case: Case) -> bool:
    return any(isinstance(m, nn.ReLU) for m in case.net)


def attribute(model, case: Case, x: Tensor | None = None, base: Tensor | None = None) -> Tensor:
    """Exact IG for ReLU networks, Gauss-Legendre with 64 steps for tanh networks."""
    x, base = case.x if x is None else x, case.base if base is None else base
    if is_relu(case):
        return exact_integrated_gradients(model, x, base)
    return integrated_gradients(model, x, base, n_steps=64)


def change(model, case: Case) -> Tensor:
    with torch.no_grad():
        return model(case.x) - model(case.base)


def integrand_variation(model, x: Tensor, base: Tensor) -> Tensor:
    """Per feature, the total variation along the path of the piecewise-constant (x_i - x'_i) dF/dx_i."""
    total = torch.zeros_like(x)
    for i, alphas in enumerate(breakpoints(model, x, base)):
        points = (base[i] + ((alphas[1:] + alphas[:-1]) / 2)[:, None] * (x[i] - base[i])).requires_grad_()
        (grads,) = torch.autograd.grad(model(points).sum(), points)
        total[i] = grads.diff(dim=0).abs().sum(0) * (x[i] - base[i]).abs()
    return total


# ---------------------------------------------------------------- completeness
@PROPERTY
@given(relu_cases)
def test_exact_ig_is_complete_on_relu_networks(case):
    attr, delta = exact_integrated_gradients(case.net, case.x, case.base, return_convergence_delta=True)
    assert (delta.abs() <= 1e-12 * (1 + attr.abs().sum(1))).all()
    torch.testing.assert_close(attr.sum(1), change(case.net, case), rtol=0, atol=1e-11)


@PROPERTY
@given(tanh_cases)
def test_quadrature_ig_is_complete_on_tanh_networks(case):
    # Gauss-Legendre converges geometrically on an analytic integrand: 16 nodes are
    # typically within the paper's 5%, 64 nodes at rounding level.
    errors = [
        integrated_gradients(case.net, case.x, case.base, n_steps=m, return_convergence_delta=True)[1].abs()
        for m in (16, 64)
    ]
    scale = 1e-3 + change(case.net, case).abs()
    assert (errors[1] <= errors[0] + 1e-14).all()
    assert (errors[1] <= 1e-9 * scale).all()


@PROPERTY
@given(relu_cases)
def test_quadrature_converges_to_exact_ig_on_relu_networks(case):
    exact = exact_integrated_gradients(case.net, case.x, case.base)
    errors = {
        m: (integrated_gradients(case.net, case.x, case.base, n_steps=m, method="riemann_middle") - exact).abs()
        for m in (16, 256)
    }
    # The integrand is piecewise constant, so the midpoint rule errs only at the kinks, by
    # at most the jump there times 1/(2m): |error_i| <= variation_i / (2m).
    variation = integrand_variation(case.net, case.x, case.base)
    for m, error in errors.items():
        assert (error <= variation / (2 * m) + 1e-12).all()
    assert errors[256].sum() <= errors[16].sum() + 1e-12


# ---------------------------------------------------------------- linearity
@PROPERTY
@given(any_cases, st.integers(0, 2**31 - 1), st.floats(-3, 3), st.floats(-3, 3))
def test_linearity(case, seed2, a, b):
    net2 = mlp(seed2, case.x.shape[1], case.widths[::-1], type(case.net[1]))
    combined = lambda x: a * case.net(x) + b * net2(x)  # noqa: E731
    together = attribute(combined, case)
    apart = a * attribute(case.net, case) + b * attribute(net2, case)
    torch.testing.assert_close(together, apart, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- symmetry preservation
@PROPERTY
@given(any_cases, st.data())
def test_symmetry_preservation(case, data):
    n = case.x.shape[1]
    i = data.draw(st.integers(0, n - 1), label="i")
    j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="j")
    swap = list(range(n))
    swap[i], swap[j] = j, i
    symmetric = lambda x: case.net(x) + case.net(x[:, swap])  # noqa: E731  F(x) = F(x with x_i, x_j swapped)
    x, base = case.x.clone(), case.base.clone()
    x[:, j], base[:, j] = x[:, i], base[:, i]
    attr = attribute(symmetric, case, x, base)
    torch.testing.assert_close(attr[:, i], attr[:, j], rtol=0, atol=1e-12)


# ---------------------------------------------------------------- dummy features
@PROPERTY
@given(cases(nn.ReLU, min_inputs=3) | cases(nn.Tanh, min_inputs=3), st.data())
def test_dummy_feature_gets_exactly_zero(case, data):
    n = case.x.shape[1]
    k = data.draw(st.integers(0, n - 1), label="dummy")
    read = [f for f in range(n) if f != k]
    net = mlp(case.seed, n - 1, case.widths, type(case.net[1]))
    model = lambda x: net(x[:, read])  # noqa: E731  never reads feature k
    attr = attribute(model, case)
    assert (attr[:, k] == 0).all()
    assert attr[:, read].abs().sum() > 0


# ---------------------------------------------------------------- batching
@PROPERTY
@given(any_cases, st.sampled_from(METHODS), st.integers(2, 12))
def test_internal_batch_size_never_changes_the_result(case, method, n_steps):
    results = [
        integrated_gradients(case.net, case.x, case.base, n_steps=n_steps, method=method, internal_batch_size=ibs)
        for ibs in (None, 1, 3)
    ]
    for other in results[1:]:
        torch.testing.assert_close(other, results[0], rtol=0, atol=1e-12)
