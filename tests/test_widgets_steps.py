"""The steps slider and its completeness gauge (iglib.widgets.steps); the errors it draws are tested
with iglib.checks.completeness.relative_completeness_errors in tests/test_completeness.py."""
import matplotlib
import numpy as np
import pytest
import torch

from iglib.checks.completeness import CAPTUM_TRAPEZOID, RULES, relative_completeness_errors
from iglib.integrated_gradients import integrated_gradients
from iglib.widgets.steps import steps_widget

from test_completeness import X_LINEAR, linear_model, relu_net  # the same networks as the gauge's tests

matplotlib.use("Agg")


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


def test_gauge_draws_an_undefined_relative_error():
    flat = torch.tensor([[2.0, 1.0, 0.0]], dtype=torch.float64)  # F(x) = F(x'): the 5% check is undefined
    sf = steps_widget(linear_model(), flat, steps=(4,), methods=(CAPTUM_TRAPEZOID,))
    assert not np.isfinite(sf.last["relative_delta"][CAPTUM_TRAPEZOID])
    assert sf.last["within_tolerance"] == {CAPTUM_TRAPEZOID: False}
