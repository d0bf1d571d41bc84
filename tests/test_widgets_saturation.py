"""Saturation widgets: the sliders index precomputed arrays that hold the paper's numbers.

Ground truths are closed forms (ig-reference.md section 3):
- F(x) = 1 - ReLU(1 - x), x' = 0 -> x = 2: gamma(alpha) = 2 alpha, F = min(2 alpha, 1),
  dF/dx = 1 for alpha < 1/2 and 0 after, running IG = F(gamma(alpha)) - F(0).
- F(x) = min(x, 5), x' = 0 -> x = 8: F = min(8 alpha, 5), gradient 0 at the input, IG 5.
- f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)), x' = (0, 0): IG at (3, 1) is (1.5, -0.5);
  DeConvNet and Guided Backprop give x2 exactly 0 everywhere.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from iglib import toys  # noqa: E402
from iglib.widgets.saturation import (  # noqa: E402
    saturation_path,
    saturation_widget,
    two_input_grid,
    two_input_widget,
)


class Counting(torch.nn.Module):
    """Wraps a model and counts its forward calls (to show a slider move computes nothing)."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0
        self.eval()

    def forward(self, x):
        self.calls += 1
        return self.model(x)


@pytest.mark.parametrize(
    "make, x, plateau",
    [(toys.one_minus_relu, 2.0, 1.0), (toys.min_x_5, 8.0, 5.0)],
    ids=["one_minus_relu", "min_x_5"],
)
def test_alpha_slider_shows_zero_gradient_but_full_ig_at_the_input(make, x, plateau):
    sf = saturation_widget(make(), x, baseline=0.0)
    assert sf.last["alpha"] == 1.0 and sf.last["point"] == x
    assert sf.last["F"] == plateau and sf.last["dF/dx"] == 0.0  # the gradient at x sees nothing
    assert sf.last["IG"] == pytest.approx(plateau, rel=0.05)  # IG sees the whole change
    kink = plateau / x  # alpha where F saturates
    sf.sliders["alpha"].value = kink / 2  # before the kink F grows at slope 1
    assert sf.last["alpha"] == pytest.approx(kink / 2, abs=0.006)
    assert sf.last["dF/dx"] == 1.0
    assert sf.last["F"] == pytest.approx(x * sf.last["alpha"], abs=1e-12)
    assert sf.last["IG"] == pytest.approx(sf.last["F"], rel=1e-9)  # no kink on [0, alpha]: exact
    assert plt.get_fignums() == []


def test_running_ig_is_completeness_along_the_path():
    path = saturation_path(toys.one_minus_relu(), 2.0, 0.0, n_steps=300, grid=41)
    np.testing.assert_allclose(path.points, 2 * path.alphas, atol=1e-15)
    np.testing.assert_allclose(path.F, np.minimum(2 * path.alphas, 1.0), atol=1e-15)
    np.testing.assert_array_equal(path.gradient, (path.alphas < 0.5).astype(float))
    np.testing.assert_allclose(path.ig, path.F - path.F[0], atol=2 / 300)  # midpoint error <= (x - x') / m
    # the running integral is the m-step midpoint rule: 6 of 10 nodes (k + 1/2) / 10 lie before
    # the kink at alpha = 5/8, so IG = 8 * 6/10 = 4.8, not 5
    coarse = saturation_path(toys.min_x_5(), 8.0, 0.0, n_steps=10, grid=41)
    assert coarse.ig[-1] == pytest.approx(4.8, abs=1e-12)


def test_saturation_slider_only_indexes_precomputed_arrays():
    model = Counting(toys.min_x_5())
    sf = saturation_widget(model, 8.0, n_steps=16, grid=21)
    calls = model.calls
    for alpha in (0.0, 0.3, 0.55, 0.95):
        sf.sliders["alpha"].value = alpha
    assert model.calls == calls
    assert sf.last["alpha"] == pytest.approx(0.95) and sf.last["F"] == 5.0


def test_saturation_arguments_are_checked():
    with pytest.raises(ValueError, match="x must be one number"):
        saturation_widget(toys.one_minus_relu(), torch.ones(2))
    with pytest.raises(TypeError, match="baseline must be a number"):
        saturation_path(toys.one_minus_relu(), 2.0, baseline="zero")
    with pytest.raises(ValueError, match="grid must be >= 2"):
        saturation_path(toys.one_minus_relu(), 2.0, grid=1)


def test_two_input_sliders_show_deconvnet_and_gbp_blind_to_x2():
    sf = two_input_widget(toys.two_input_relu())
    assert (sf.last["x1"], sf.last["x2"]) == (3.0, 1.0) and sf.last["F"] == 1.0
    a = sf.last["attributions"]
    assert a["Gradient"] == (1.0, -1.0)
    assert a["DeConvNet"] == (1.0, 0.0) and a["Guided Backprop"] == (1.0, 0.0)
    assert a["IG"] == pytest.approx((1.5, -0.5), abs=1e-9)  # the paper's values
    sf.sliders["x2"].value = 2.0  # F falls to 0 as x2 grows to x1 - 1
    assert sf.last["F"] == 0.0 and sf.last["attributions"]["DeConvNet"][1] == 0.0
    sf.sliders["x1"].value = 0.5  # x1 < 1: F = 0 everywhere; DeConvNet still gives x1 credit
    assert sf.last["F"] == 0.0
    assert sf.last["attributions"]["DeConvNet"] == (1.0, 0.0)
    assert sf.last["attributions"]["IG"] == (0.0, 0.0)
    assert plt.get_fignums() == []


def test_two_input_grid_x2_is_zero_for_deconvnet_and_gbp_and_ig_is_complete():
    values = np.linspace(-1.0, 4.0, 21)
    grid = two_input_grid(toys.two_input_relu(), values, values)
    assert grid.F.shape == (21, 21) and grid.F_baseline == 0.0
    for name in ("DeConvNet", "Guided Backprop"):
        assert np.all(grid.attributions[name][..., 1] == 0.0), name
    x1, x2 = np.meshgrid(values, values, indexing="ij")
    np.testing.assert_allclose(grid.F, np.maximum(np.maximum(x1, 0) - 1 - np.maximum(x2, 0), 0), atol=1e-12)
    falls = (x1 > 1) & (x2 > 0) & (x2 < x1 - 1)  # where F changes with x2
    assert falls.sum() > 10
    ig = grid.attributions["IG"]
    assert np.all(ig[..., 1][falls] < 0)  # IG gives x2 the (negative) credit it deserves
    change = grid.F - grid.F_baseline
    assert np.all(np.abs(ig.sum(-1) - change) <= 0.05 * np.abs(change) + 1e-12)  # completeness


def test_two_input_slider_only_indexes_and_custom_attribution_methods():
    model = Counting(toys.two_input_relu())
    values = np.linspace(0.0, 4.0, 9)
    doubled = {"2x": lambda m, x, b: 2 * (x - b)}
    sf = two_input_widget(model, values, values, attribution_methods=doubled, baseline=(0.0, 0.0), start=(2.0, 0.5))
    calls = model.calls
    sf.sliders["x1"].value = 4.0
    sf.sliders["x2"].value = 1.0
    assert model.calls == calls
    assert sf.last["attributions"] == {"2x": (8.0, 2.0)} and sf.last["F"] == 2.0
    with pytest.raises(ValueError, match="baseline must be 2 numbers"):
        two_input_grid(model, values, values, attribution_methods=doubled, baseline=(0.0,))
    with pytest.raises(ValueError, match="1-D grids"):
        two_input_grid(model, [1.0], values, attribution_methods=doubled)
