"""The steps slider and its completeness gauge (iglib.widgets.steps)."""
import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from iglib.integrated_gradients import integrated_gradients
from iglib.widgets.steps import CAPTUM_TRAPEZOID, RULES, relative_completeness_errors, steps_widget

matplotlib.use("Agg")


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


def test_linear_model_true_rules_exact_and_captum_trapezoid_off_by_one_over_m():
    sf = steps_widget(linear_model(), X_LINEAR, steps=(2, 4, 16, 32))
    assert sf.last["n_steps"] == 2  # starts at the first m on the grid
    for m in (4, 16, 32):
        sf.sliders["n_steps"].value = m
        shown = sf.last["relative_delta"]
        assert sf.last["n_steps"] == m and set(shown) == set(RULES)
        for rule in RULES:
            if rule == CAPTUM_TRAPEZOID:  # delta = -(F(x) - F(x')) / m exactly
                assert shown[rule] == pytest.approx(1 / m, rel=1e-12)
            else:
                assert shown[rule] < 1e-12
    assert sf.last["within_tolerance"][CAPTUM_TRAPEZOID]  # 1/32 < 5%
    sf.sliders["n_steps"].value = 16
    assert not sf.last["within_tolerance"][CAPTUM_TRAPEZOID]  # 1/16 > 5%
    assert all(v for r, v in sf.last["within_tolerance"].items() if r != CAPTUM_TRAPEZOID)


def test_gauge_shows_iglib_deltas_relative_to_the_change_in_F():
    model, x = relu_net(), torch.randn(1, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2
    sf = steps_widget(model, x, target=1, steps=(3, 8, 20), methods=("riemann_left", "gausslegendre"), n_steps=8)
    assert sf.last["n_steps"] == 8 and set(sf.last["relative_delta"]) == {"riemann_left", "gausslegendre"}
    sf.sliders["n_steps"].value = 20
    with torch.no_grad():
        change = (model(x) - model(torch.zeros_like(x)))[0, 1].item()
    for rule in ("riemann_left", "gausslegendre"):
        _, delta = integrated_gradients(model, x, target=1, n_steps=20, method=rule, return_convergence_delta=True)
        expected = abs(delta.item()) / abs(change)
        assert sf.last["relative_delta"][rule] == pytest.approx(expected, rel=1e-12)
        assert sf.last["within_tolerance"][rule] == (expected <= 0.05)


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


def test_batch_shows_the_worst_example():
    model = relu_net(4)
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 2
    errors = relative_completeness_errors(model, x, target=0, steps=(3, 6), methods=("riemann_right",))["riemann_right"]
    assert len(set(errors[1].round(12))) == 3  # the examples differ, so "worst" means something
    sf = steps_widget(model, x, target=0, steps=(3, 6), methods=("riemann_right",))
    sf.sliders["n_steps"].value = 6
    assert sf.last["relative_delta"]["riemann_right"] == pytest.approx(errors[1].max(), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"methods": ("riemann_simpson",)}, "methods must be a non-empty selection of riemann_left"),
        ({"methods": ()}, "methods must be a non-empty selection"),
        ({"steps": (8, 4)}, r"steps must be a non-empty increasing sequence of ints >= 1, got \[8, 4\]"),
        ({"steps": (4, 8), "n_steps": 5}, r"n_steps must be one of steps \[4, 8\], got 5"),
        ({"tolerance": 0}, "tolerance must be a positive number"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        steps_widget(linear_model(), X_LINEAR, **kwargs)


def test_bad_step_values_are_named():
    with pytest.raises(TypeError, match="steps must be an int >= 1, got 2.5"):
        relative_completeness_errors(linear_model(), X_LINEAR, steps=(2.5,))


def test_gauge_draws_an_undefined_relative_error():
    flat = torch.tensor([[2.0, 1.0, 0.0]], dtype=torch.float64)  # F(x) = F(x'): the 5% check is undefined
    sf = steps_widget(linear_model(), flat, steps=(4,), methods=(CAPTUM_TRAPEZOID,))
    assert not np.isfinite(sf.last["relative_delta"][CAPTUM_TRAPEZOID])
    assert sf.last["within_tolerance"] == {CAPTUM_TRAPEZOID: False}
