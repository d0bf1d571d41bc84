"""Saturation widgets: the sliders index precomputed arrays that hold the paper's numbers.

Ground truths are closed forms (ig-reference.md section 3):
- F(x) = 1 - ReLU(1 - x), x' = 0 -> x = 2: gamma(alpha) = 2 alpha, F = min(2 alpha, 1),
  dF/dx = 1 for alpha < 1/2 and 0 after, running IG = F(gamma(alpha)) - F(0).
- F(x) = min(x, 5), x' = 0 -> x = 8: F = min(8 alpha, 5), gradient 0 at the input, IG 5.
- f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)), x' = (0, 0): IG at (3, 1) is (1.5, -0.5);
  DeConvNet and Guided Backprop give x2 exactly 0 everywhere.

What the sliders index is tested where it is computed: saturation_path in tests/test_interior.py,
two_input_grid in tests/test_grids.py.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from iglib import toys  # noqa: E402
from iglib.widgets.saturation import saturation_widget, two_input_widget  # noqa: E402


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


def test_saturation_slider_only_indexes_precomputed_arrays():
    model = Counting(toys.min_x_5())
    sf = saturation_widget(model, 8.0, n_steps=16, grid=21)
    calls = model.calls
    for alpha in (0.0, 0.3, 0.55, 0.95):
        sf.sliders["alpha"].value = alpha
    assert model.calls == calls
    assert sf.last["alpha"] == pytest.approx(0.95) and sf.last["F"] == 5.0


def test_saturation_widget_checks_its_arguments():
    with pytest.raises(ValueError, match="x must be one number"):
        saturation_widget(toys.one_minus_relu(), torch.ones(2))


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
