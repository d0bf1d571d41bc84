"""Path-method widgets (iglib.widgets.paths): the bend slider and the symmetry proof (what they
compute, detour_path, path_curve, symmetry_case, is tested in tests/test_paths.py).

Ground truth in closed form. On F(x1, x2) = x1 x2 from (0, 0) to (1, 1) along
toys.bent_path with bend c (gamma = (a + c sin(pi a) / 2, a - c sin(pi a) / 2)),

    PathIG_1 = integral gamma_2 d gamma_1 = 1/2 - 2c/pi,   PathIG_2 = 1/2 + 2c/pi.

The proof's f on [a, b] is the same product shifted and scaled, so along a detour over the
window [a, b] with bend c: x_i gets (b - a)^2 (1/2 - 2|c|/pi), x_j gets (b - a)^2 (1/2 + 2|c|/pi),
and on the straight line each gets (b - a)^2 / 2.
"""
import math

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

import iglib
from iglib import toys
from iglib.paths import detour_path, symmetry_case
from iglib.widgets.paths import draw_symmetry, path_bend_widget, symmetry_widget

matplotlib.use("Agg")

ONE = torch.ones(1, 2, dtype=torch.float64)
ZERO = torch.zeros(1, 2, dtype=torch.float64)


def product(x):
    """F(x1, x2) = x1 x2."""
    return x[:, 0] * x[:, 1]


def bent_product(c: float) -> tuple[float, float]:
    return 0.5 - 2 * c / math.pi, 0.5 + 2 * c / math.pi


# ---------------------------------------------------------------- path_bend_widget
def test_bend_widget_moves_the_attributions_and_keeps_their_sum():
    sf = path_bend_widget(product, ONE, bends=(-0.6, -0.3, 0.0, 0.3, 0.6), bend=0.3)
    assert sf.last["bend"] == 0.3
    for c in (-0.6, 0.0, 0.6, 0.3):
        sf.sliders["bend"].value = c
        shown = sf.last
        assert shown["bend"] == c
        assert shown["attributions"] == pytest.approx(bent_product(c), abs=1e-12)
        assert shown["sum"] == pytest.approx(1.0, abs=1e-12) and shown["difference"] == 1.0
        assert shown["straight"] == pytest.approx((0.5, 0.5), abs=1e-12)
    assert plt.get_fignums() == []


def test_bend_widget_on_a_relu_network_matches_path_integrated_gradients():
    model = toys.symmetric_relu()  # F = ReLU(x1 + x2 - 1): x1 gets what it moves after x1 + x2 passes 1
    x, base = torch.tensor([[2.0, 1.0]], dtype=torch.float64), torch.tensor([[0.0, 0.5]], dtype=torch.float64)
    sf = path_bend_widget(model, x, base, bends=(-0.2, 0.0, 0.5), bend=-0.2, n_steps=32)
    for c in (-0.2, 0.5):
        sf.sliders["bend"].value = c
        expected = iglib.path_integrated_gradients(model, x, toys.bent_path(base, x, c), n_steps=32)[0]
        assert sf.last["attributions"] == pytest.approx(tuple(expected.tolist()), abs=1e-12)
        assert sf.last["sum"] == pytest.approx(sf.last["difference"], rel=0.05)
        assert sf.last["difference"] == pytest.approx(2.0 - 0.0, abs=1e-12)  # F(x) = 2, F(x') = 0
    sf.sliders["bend"].value = 0.0  # the straight line is IG
    assert sf.last["attributions"] == pytest.approx(sf.last["straight"], abs=1e-12)


def test_bend_widget_checks_its_arguments():
    with pytest.raises(ValueError, match=r"one example with 2 features"):
        path_bend_widget(product, torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="increasing"):
        path_bend_widget(product, ONE, bends=(0.3, 0.1))


# ---------------------------------------------------------------- the symmetry proof
def test_draw_symmetry_draws_three_panels():
    fig = draw_symmetry(symmetry_case(detour_path(ZERO, ONE, 0.5, 0.2, 0.8)))
    assert len(fig.axes) == 3
    plt.close(fig)


def test_symmetry_widget_runs_the_proof_for_each_slider_setting():
    sf = symmetry_widget(bends=(-0.4, 0.0, 0.4), window=(0.0, 0.5, 1.0), bend=0.4, start=0.0, stop=1.0)
    assert sf.last["bend"] == 0.4 and sf.last["window"] == (0.0, 1.0)
    assert (sf.last["a"], sf.last["b"]) == pytest.approx((0.0, 1.0), abs=1e-9)
    assert sf.last["path"] == pytest.approx(bent_product(0.4), abs=1e-7)
    sf.sliders["window"].value = (0.5, 1.0)
    sf.sliders["bend"].value = -0.4  # the other side of the diagonal: i and j swap
    shown = sf.last
    assert (shown["i"], shown["j"]) == (1, 0) and shown["window"] == (0.5, 1.0)
    assert (shown["t1"], shown["t2"], shown["a"], shown["b"]) == pytest.approx((0.5, 1.0, 0.5, 1.0), abs=1e-9)
    assert shown["t0"] == pytest.approx(0.75)
    x_i, x_j = shown["path"]
    assert x_j > x_i and (x_i, x_j) == pytest.approx(tuple(0.25 * v for v in bent_product(0.4)), abs=1e-7)
    assert shown["straight"][0] == shown["straight"][1] == pytest.approx(0.125, abs=1e-7)
    sf.sliders["bend"].value = 0.0  # the straight line: no witness
    assert sf.last == {"bend": 0.0, "window": (0.5, 1.0), "witness": None}
    sf.sliders["bend"].value = 0.4
    sf.sliders["window"].value = (0.5, 0.5)  # empty window: the straight line again
    assert sf.last["witness"] is None
    assert plt.get_fignums() == []
    with pytest.raises(ValueError, match=r"inside \[0, 1\]"):
        symmetry_widget(window=(0.0, 1.5))
