"""The kernel-width slider of tabular LIME (iglib.widgets.lime).

Ground truths: on a linear model LIME is exact at every width (w * (x - x'), which is IG, so the
rank correlation with IG is 1 and the sum is F(x) - F(x')); a tiny width leaves one effective
sample (x itself), a huge one all of them; the slider shows what lime_tabular computes at that width.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from iglib.integrated_gradients import integrated_gradients  # noqa: E402
from iglib.methods.lime import lime_tabular  # noqa: E402
from iglib.widgets.lime import kernel_width_sweep, kernel_width_widget  # noqa: E402

WIDTHS = (0.05, 0.5, 2.0, 8.0, 1000.0)


class Counting(nn.Module):
    """Counts forward calls, to show a slider move computes nothing."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0
        self.eval()

    def forward(self, x):
        self.calls += 1
        return self.model(x)


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2)).double().eval().requires_grad_(False)


X = torch.tensor([[1.0, -0.5, 2.0, 0.0, -1.5, 0.7]], dtype=torch.float64)
BASE = torch.zeros(1, 6, dtype=torch.float64)


def test_linear_model_every_width_is_exact_and_agrees_with_ig():
    model = nn.Linear(6, 1).double().eval().requires_grad_(False)
    ig = integrated_gradients(model, X, BASE, target=0)
    sweep = kernel_width_sweep(model, X, ig, WIDTHS[1:], BASE, target=0, n_samples=100, alpha=0.0, top_k=3)
    sf = kernel_width_widget(sweep)
    change = (model(X) - model(BASE)).item()
    for width in WIDTHS[1:]:
        sf.sliders["kernel_width"].value = width
        shown = sf.last
        assert shown["kernel width"] == width
        assert shown["rank correlation with IG"] == pytest.approx(1.0)
        assert shown["top-k shared with IG"] == 1.0
        assert shown["sum of attributions"] == pytest.approx(change, abs=1e-9)
        assert shown["F(x) - F(x')"] == pytest.approx(change, abs=1e-12)
    assert plt.get_fignums() == []


def test_slider_shows_lime_at_that_width_and_computes_nothing():
    model = Counting(mlp())
    ig = integrated_gradients(model, X, BASE, target=1, n_steps=64)
    names = [f"feature {i}" for i in range(6)]
    sweep = kernel_width_sweep(model, X, ig, WIDTHS, BASE, target=1, n_samples=300, seed=3, feature_names=names, top_k=2)
    assert sweep.evaluations == 300 * len(WIDTHS)
    sf = kernel_width_widget(sweep, width=2.0)
    assert sf.last["kernel width"] == 2.0  # starts where asked
    calls = model.calls
    for width in WIDTHS:
        sf.sliders["kernel_width"].value = width
        a, fit = lime_tabular(model.model, X, BASE, target=1, n_samples=300, kernel_width=width, seed=3, return_fit=True)
        assert sf.last["weighted R2"] == pytest.approx(fit.score.item())
        assert sf.last["effective samples"] == pytest.approx(fit.effective_samples.item())
        assert sf.last["sum of attributions"] == pytest.approx(a.sum().item())
        top = torch.argsort(a[0].abs(), descending=True)[:2].tolist()
        assert sf.last["top features"] == [names[i] for i in top]
    assert model.calls == calls  # the slider only indexed the sweep


def test_width_decides_how_many_samples_the_fit_uses():
    sweep = kernel_width_sweep(mlp(), X, torch.ones(6), WIDTHS, BASE, target=0, n_samples=200)
    assert sweep.at(0.05)["effective samples"] == pytest.approx(1.0, abs=1e-6)  # x itself
    assert sweep.at(1000.0)["effective samples"] == pytest.approx(200, rel=1e-3)  # all samples
    assert np.all(np.diff(sweep.effective_samples) > 0)
    assert sweep.at(3.0)["kernel width"] == 2.0  # nearest on a log scale


def test_sweep_arguments_are_checked():
    model = mlp()
    with pytest.raises(ValueError, match="one example"):
        kernel_width_sweep(model, torch.cat([X, X]), torch.ones(6), WIDTHS, target=0)
    with pytest.raises(ValueError, match="one value per feature"):
        kernel_width_sweep(model, X, torch.ones(5), WIDTHS, target=0)
    with pytest.raises(ValueError, match="feature_names"):
        kernel_width_sweep(model, X, torch.ones(6), WIDTHS, target=0, feature_names=["a"])
    with pytest.raises(ValueError, match="widths"):
        kernel_width_sweep(model, X, torch.ones(6), (0.0, 1.0), target=0)
    with pytest.raises(ValueError, match="top_k"):
        kernel_width_sweep(model, X, torch.ones(6), WIDTHS, target=0, top_k=7)
