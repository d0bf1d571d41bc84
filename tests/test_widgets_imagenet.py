"""The ImageNet sliders, driven without a browser: set the sliders, read what was drawn."""
from __future__ import annotations

import matplotlib
import pytest
import torch
from torch import nn

import iglib
from iglib.interior import interior_gradients
from iglib.widgets.imagenet import explorer_widget, interior_gradients_widget

matplotlib.use("Agg")


def _classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 6)).eval()


def _probabilities(model):
    return lambda v: model(v).softmax(-1)


def test_interior_slider_shows_precomputed_frames():
    model = _classifier()
    x = torch.rand(2, 3, 12, 12) * 2 - 1
    interior = interior_gradients(_probabilities(model), x, -1.0, target=[0, 3], n_steps=8)
    view = interior_gradients_widget(interior, ["a", "b"])
    first = dict(view.last)
    assert first["image"] == "a" and first["alpha"] == pytest.approx(interior.alphas[2].item())
    view.sliders["alpha"].value = view.sliders["alpha"].options[-1][1]
    assert view.last["alpha"] == pytest.approx(interior.alphas[-1].item())
    assert view.last["F"] == pytest.approx(interior.scores[-1, 0].item())
    view.sliders["image"].value = 1
    assert view.last["image"] == "b" and view.last["F"] == pytest.approx(interior.scores[-1, 1].item())
    assert view.last["gradient norm"] == pytest.approx(interior.gradient_norms()[-1, 1].item())
    with pytest.raises(ValueError, match="names must name each"):
        interior_gradients_widget(interior, ["a"])


def test_explorer_computes_each_combination_once_and_uses_precomputed_ones():
    model = _classifier()
    forward = _probabilities(model)
    images = {"one": torch.rand(1, 3, 12, 12), "two": torch.rand(1, 3, 12, 12)}
    with torch.no_grad():
        best = forward(images["one"])[0].argmax().item()
    calls = []

    def black(v):
        calls.append("black")
        return torch.zeros_like(v)

    marker = (torch.zeros(1, 3, 12, 12), 0.5)
    view = explorer_widget(forward, images, [f"c{k}" for k in range(6)], {"black": black, "grey": lambda v: v * 0 + 0.5},
                           steps=(4, 8), n_targets=3, precomputed={("one", 1, 8, "black"): marker})
    assert view.last["delta"] == 0.5 and view.last["class"] == f"c{best}"   # the precomputed first view
    view.sliders["steps"].value = 4
    ig, delta = iglib.integrated_gradients(forward, images["one"], 0.0, target=best, n_steps=4,
                                           return_convergence_delta=True)
    assert view.last["sum IG"] == pytest.approx(ig.sum().item(), rel=1e-5)
    assert view.last["delta"] == pytest.approx(delta.item(), abs=1e-6)
    view.sliders["target"].value = 3
    assert view.last["class"] != f"c{best}"
    view.sliders["target"].value = 1                                        # back: cached, same numbers
    assert view.last["sum IG"] == pytest.approx(ig.sum().item(), rel=1e-5)
    view.sliders["baseline"].value = "grey"
    assert view.last["baseline"] == "grey" and view.last["F(x')"] != pytest.approx(view.last["F(x)"])
    view.sliders["image"].value = "two"
    assert view.last["image"] == "two"
    view.sliders["baseline"].value = "black"
    assert calls.count("black") == 2                                        # one baseline per image, cached
    with pytest.raises(ValueError, match="at least one entry"):
        explorer_widget(forward, {}, ["c"], {"black": black})
