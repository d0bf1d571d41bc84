"""The implementation-invariance widget shows each method's attributions for f and g.

Ground truths are the paper's: at x = (3, 1), x' = (0, 0), DeepLIFT gives (1.5, -0.5) for f
and (2, -1) for g, IG (1.5, -0.5) for both, gradient x input (3, -1) for both.
"""
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from iglib.methods import lrp
from iglib.toys import implementation_pair
from iglib.widgets.invariance import invariance_widget

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def widget():
    f, g = implementation_pair()
    values = [k / 2 for k in range(-2, 9)]  # -1 .. 4 by 0.5
    return invariance_widget(f, g, values, values[:9], epsilons=(0.0, 0.01, 1.0), ig_steps=200)


def test_the_papers_point(widget):
    last = widget.last  # the initial draw is at x = (3, 1), epsilon = 0.01
    assert last["x"] == (3.0, 1.0) and last["epsilon"] == 0.01 and last["delta"] == 1.0
    assert last["f"]["deeplift"] == pytest.approx((1.5, -0.5), abs=1e-12)
    assert last["g"]["deeplift"] == pytest.approx((2.0, -1.0), abs=1e-12)
    for name in ("f", "g"):
        assert last[name]["integrated_gradients"] == pytest.approx((1.5, -0.5), abs=1e-12)
        assert last[name]["gradient_x_input"] == pytest.approx((3.0, -1.0), abs=1e-12)
    assert last["f"]["lrp"] != pytest.approx(last["g"]["lrp"], abs=1e-3)
    assert plt.get_fignums() == []


def test_sliders_pick_the_precomputed_point(widget):
    f, g = implementation_pair()
    widget.sliders["x1"].value = 2.5
    widget.sliders["x2"].value = 0.5
    widget.sliders["epsilon"].value = 1.0
    last = widget.last
    assert last["x"] == (2.5, 0.5) and last["epsilon"] == 1.0 and last["delta"] == 1.0
    x = torch.tensor([[2.5, 0.5]], dtype=torch.float64)
    assert last["f"]["lrp"] == pytest.approx(lrp(f, x, epsilon=1.0)[0].tolist(), abs=1e-12)
    assert last["g"]["lrp"] == pytest.approx(lrp(g, x, epsilon=1.0)[0].tolist(), abs=1e-12)
    # DeepLIFT in closed form for x1 > 1, x2 > 0, F > 0 (rescale multipliers, x' = 0):
    # f: (x1, -x2) * F / (F + 1);  g: (x1 - 1, -x2)
    assert last["f"]["deeplift"] == pytest.approx((2.5 * 0.5, -0.5 * 0.5), abs=1e-12)
    assert last["g"]["deeplift"] == pytest.approx((1.5, -0.5), abs=1e-12)
    assert last["f"]["integrated_gradients"] == pytest.approx(last["g"]["integrated_gradients"], abs=1e-12)
    assert sum(last["f"]["integrated_gradients"]) == pytest.approx(1.0, abs=1e-9)
    widget.sliders["epsilon"].value = 0.0  # LRP with epsilon 0 is gradient x input on a ReLU network
    assert widget.last["f"]["lrp"] == pytest.approx(widget.last["f"]["gradient_x_input"], abs=1e-12)
    assert widget.last["g"]["lrp"] == pytest.approx((2.5, -0.5), abs=1e-12)


def test_grids_must_be_evenly_spaced():
    f, g = implementation_pair()
    with pytest.raises(ValueError, match="evenly spaced"):
        invariance_widget(f, g, [0.0, 1.0, 3.0], [0.0, 1.0])
