"""Attribution methods on a grid over two inputs (iglib.checks.grids), the numbers behind the
sliders of notebooks 03 and 04.

Ground truths are closed forms (ig-reference.md section 3): f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)),
x' = (0, 0); DeConvNet and Guided Backprop give x2 exactly 0 everywhere; DeepLIFT gives (1.5, -0.5)
for f and (2, -1) for g at (3, 1), IG (1.5, -0.5) for both.
"""
import numpy as np
import pytest
import torch

from iglib import toys
from iglib.checks.grids import INVARIANCE_METHODS, invariance_grid, two_input_grid
from iglib.methods import lrp


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


def test_two_input_grid_arguments_are_checked():
    model = toys.two_input_relu()
    values = np.linspace(0.0, 4.0, 9)
    doubled = {"2x": lambda m, x, b: 2 * (x - b)}
    with pytest.raises(ValueError, match="baseline must be 2 numbers"):
        two_input_grid(model, values, values, attribution_methods=doubled, baseline=(0.0,))
    with pytest.raises(ValueError, match="1-D grids"):
        two_input_grid(model, [1.0], values, attribution_methods=doubled)


def test_invariance_grid_holds_the_papers_numbers_at_every_point():
    f, g = toys.implementation_pair()
    values = [k / 2 for k in range(-2, 9)]  # -1 .. 4 by 0.5
    grid = invariance_grid(f, g, values, values[:9], epsilons=(0.0, 1.0), ig_steps=200)
    assert grid.index(3.0, 1.0) == (8, 4) and grid.steps == (0.5, 0.5)
    shown = grid.at(3.0, 1.0, 0.0)
    assert shown["x"] == (3.0, 1.0) and shown["delta"] == 1.0 and set(shown["f"]) == set(INVARIANCE_METHODS)
    assert shown["f"]["deeplift"] == pytest.approx((1.5, -0.5), abs=1e-12)
    assert shown["g"]["deeplift"] == pytest.approx((2.0, -1.0), abs=1e-12)
    for name in ("f", "g"):
        assert shown[name]["integrated_gradients"] == pytest.approx((1.5, -0.5), abs=1e-12)
    points = torch.tensor([[a, b] for a in values for b in values[:9]], dtype=torch.float64)
    expected = lrp(g, points, epsilon=1.0).reshape(len(values), 9, 2).numpy()
    np.testing.assert_allclose(grid.attributions["g"]["lrp"][1.0], expected, atol=1e-12)
    with pytest.raises(ValueError, match="evenly spaced"):
        invariance_grid(f, g, [0.0, 1.0, 3.0], [0.0, 1.0])
