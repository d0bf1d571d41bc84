"""LIME (iglib.lime), checked against closed forms.

- On a linear model F(x) = w . x + b, the weighted least-squares fit is exact whatever the
  samples and the kernel: tabular LIME recovers w (and w * (x - x') = IG), image LIME recovers
  each superpixel's sum of w * (x - x').
- On a nonlinear model, the fit equals the weighted normal equations solved by hand on the same
  samples, with the kernel pi = exp(-d^2 / sigma^2) written out.
- Captum's Lime (an independent implementation) gives the same superpixel weights on a linear model.
"""
import math

import numpy as np
import pytest
import torch
from torch import nn

from iglib.checks.evaluation import EvaluationCounter, rank_correlation, top_k, top_k_overlap
from iglib.integrated_gradients import integrated_gradients
from iglib.methods.lime import (
    effective_samples,
    exponential_kernel,
    lime_image,
    lime_tabular,
    paint,
    superpixel_sums,
    superpixels,
)


def linear_model(n_in: int = 5, n_out: int = 1, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out).double().eval().requires_grad_(False)


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double().eval().requires_grad_(False)


X = torch.tensor([[0.5, -1.0, 2.0, 0.0, 1.5], [1.0, 1.0, -3.0, 0.5, -0.5]], dtype=torch.float64)


# ---------------------------------------------------------------- tabular
@pytest.mark.parametrize("kernel_width", [0.3, None, 50.0])
@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_tabular_lime_recovers_the_coefficients_of_a_linear_model(kernel_width, scale):
    model = linear_model()
    w = model.weight[0]
    slopes, fit = lime_tabular(model, X, target=0, n_samples=50, kernel_width=kernel_width, scale=scale, alpha=0.0,
                               multiply_by_inputs=False, seed=1, return_fit=True)
    torch.testing.assert_close(slopes, w.expand_as(X), atol=1e-9, rtol=0)
    torch.testing.assert_close(fit.intercept, model(X)[:, 0], atol=1e-9, rtol=0)  # g(x) = F(x): z - x = 0 at x
    assert torch.all(fit.score > 1 - 1e-12) and fit.evaluations == 50 * len(X)


def test_tabular_lime_on_a_linear_model_is_ig_and_the_ridge_penalty_only_shrinks_a_little():
    model = linear_model()
    w = model.weight[0]
    baseline = torch.full((1, 5), 0.25, dtype=torch.float64)
    exact = lime_tabular(model, X, baseline, target=0, n_samples=200, alpha=0.0, seed=0)
    torch.testing.assert_close(exact, w * (X - baseline), atol=1e-9, rtol=0)
    ig = integrated_gradients(model, X, baseline, target=0)
    torch.testing.assert_close(exact, ig, atol=1e-9, rtol=0)
    ridge = lime_tabular(model, X, baseline, target=0, n_samples=2000, seed=0)  # alpha = 1, the lime package's
    torch.testing.assert_close(ridge, exact, rtol=0.01, atol=1e-3)
    assert torch.all(ridge.abs() <= exact.abs() + 1e-12)  # ridge shrinks towards 0


def test_tabular_lime_per_example_targets_and_additional_args():
    model = linear_model(5, 3)

    def forward(x, shift):
        return model(x) + shift

    shift = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    slopes = lime_tabular(forward, X, target=[2, 0], additional_forward_args=(shift,), n_samples=40, alpha=0.0,
                          multiply_by_inputs=False, seed=0)
    torch.testing.assert_close(slopes, model.weight[[2, 0]], atol=1e-9, rtol=0)


def test_tabular_fit_is_the_weighted_normal_equations_with_the_exponential_kernel():
    model, x, sigma, n = mlp(), torch.tensor([[0.3, -0.7, 1.2, 0.1]], dtype=torch.float64), 1.5, 300
    scale = torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64)
    slopes, fit = lime_tabular(model, x, target=1, n_samples=n, kernel_width=sigma, scale=scale, alpha=0.0,
                               multiply_by_inputs=False, seed=7, return_fit=True)
    e = torch.randn(n, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)  # the same samples
    e[0] = 0.0
    f = model(x + e * scale)[:, 1]
    pi = torch.exp(-(e**2).sum(1) / sigma**2)
    design = torch.cat([torch.ones(n, 1, dtype=torch.float64), e], 1)  # intercept, (z - x) / scale
    sqrt_pi = pi.sqrt()[:, None]
    solution = torch.linalg.lstsq(design * sqrt_pi, f[:, None] * sqrt_pi).solution[:, 0]
    torch.testing.assert_close(slopes[0], solution[1:] / scale, atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(fit.intercept[0], solution[0], atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(fit.effective_samples[0], pi.sum() ** 2 / (pi**2).sum())


def test_kernel_width_decides_the_neighbourhood():
    model, x = mlp(), torch.zeros(1, 4, dtype=torch.float64)
    _, narrow = lime_tabular(model, x, target=0, n_samples=500, kernel_width=0.05, seed=0, return_fit=True)
    _, wide = lime_tabular(model, x, target=0, n_samples=500, kernel_width=1e3, seed=0, return_fit=True)
    assert narrow.effective_samples.item() == pytest.approx(1.0, abs=1e-6)  # only x itself counts
    assert wide.effective_samples.item() == pytest.approx(500, rel=1e-4)  # every sample counts
    default = lime_tabular(model, x, target=0, n_samples=500, seed=0)  # sigma = 0.75 sqrt(4) = 1.5
    torch.testing.assert_close(default, lime_tabular(model, x, target=0, n_samples=500, kernel_width=1.5, seed=0))


def test_exponential_kernel_and_effective_samples():
    d = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(exponential_kernel(d, 2.0), np.exp(-(d**2) / 4.0))
    assert effective_samples(np.ones(10)).item() == pytest.approx(10.0)
    assert effective_samples(np.array([1.0, 0.0, 0.0])).item() == pytest.approx(1.0)


def test_seeds_reproduce_and_differ():
    model = mlp()
    a = lime_tabular(model, X[:, :4], target=0, n_samples=100, seed=3)
    assert torch.equal(a, lime_tabular(model, X[:, :4], target=0, n_samples=100, seed=3))
    assert not torch.equal(a, lime_tabular(model, X[:, :4], target=0, n_samples=100, seed=4))
    torch.manual_seed(11)
    b = lime_tabular(model, X[:, :4], target=0, n_samples=100)  # seed None: from torch's global RNG
    torch.manual_seed(11)
    assert torch.equal(b, lime_tabular(model, X[:, :4], target=0, n_samples=100))


def test_evaluations_are_counted_and_match_a_counting_wrapper():
    counter = EvaluationCounter(mlp())
    _, fit = lime_tabular(counter, X[:, :4], target=1, n_samples=64, seed=0, internal_batch_size=10, return_fit=True)
    assert fit.evaluations == 128 == counter.forward_evaluations and counter.gradient_evaluations == 0
    counter.reset()
    integrated_gradients(counter, X[:, :4], target=1, n_steps=16, return_convergence_delta=True)
    assert counter.gradient_evaluations == 16 * 2  # one gradient per step and example
    assert counter.forward_evaluations == 4  # F(x) and F(x') of both examples, for the delta


def test_tabular_arguments_are_checked():
    model = linear_model()
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        lime_tabular(model, X, target=0, n_samples=0)
    with pytest.raises(ValueError, match="kernel_width must be a finite number > 0"):
        lime_tabular(model, X, target=0, kernel_width=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        lime_tabular(model, X, target=0, alpha=-1.0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        lime_tabular(model, X, target=0, scale=torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="scale has shape"):
        lime_tabular(model, X, target=0, scale=torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="baselines has shape"):
        lime_tabular(model, X, torch.zeros(1, 3, dtype=torch.float64), target=0)
    with pytest.raises(ValueError, match="out of range"):
        lime_tabular(model, X, target=4)
    with pytest.raises(TypeError, match="seed must be None or an int"):
        lime_tabular(model, X, target=0, seed=1.5)


# ---------------------------------------------------------------- images
SEGMENTS = torch.arange(6 * 6).reshape(6, 6) // 9  # 4 horizontal bands of 9 pixels


def additive_model(seed: int = 0):
    """F(x) = sum v * x over channels and pixels: every superpixel adds its own share."""
    v = torch.randn(3, 6, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (lambda x: (x * v).sum((1, 2, 3))), v


def test_image_lime_on_an_additive_model_gives_each_superpixels_share():
    forward, v = additive_model()
    x = torch.rand(2, 3, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    black = torch.full_like(x, -1.0)
    result = lime_image(forward, x, SEGMENTS, baselines=black, n_samples=32, alpha=0.0, seed=0)
    expected = superpixel_sums(v * (x - black), SEGMENTS)  # = superpixel sums of IG for this model
    torch.testing.assert_close(result.weights, expected, atol=1e-9, rtol=0)
    ig = integrated_gradients(forward, x, black)
    torch.testing.assert_close(superpixel_sums(ig, SEGMENTS), expected, atol=1e-9, rtol=0)
    torch.testing.assert_close(result.intercept, forward(black), atol=1e-9, rtol=0)  # all off = x'
    assert result.evaluations == 64 and result.weights.shape == (2, 4) and result.segments.shape == (2, 6, 6)
    painted = result.paint()
    assert painted.shape == (2, 6, 6) and torch.equal(painted[1, 0], result.weights[1, 0].expand(6))
    assert result.top(2, example=1) == torch.argsort(result.weights[1], descending=True)[:2].tolist()


def test_image_fit_is_the_weighted_normal_equations_with_the_cosine_kernel():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 36, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()
    x = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    n, sigma = 40, 0.3
    result = lime_image(net, x, SEGMENTS, target=2, n_samples=n, kernel_width=sigma, alpha=0.0, seed=5)
    z = (torch.rand(n, 4, generator=torch.Generator().manual_seed(5)) < 0.5).double()  # the same masks
    z[0] = 1.0
    with torch.no_grad():
        f = net(z[:, SEGMENTS][:, None] * x)[:, 2]  # off = the zero baseline
    cos = (z @ torch.ones(4, dtype=torch.float64)) / (z.norm(dim=1).clamp_min(1e-300) * 2.0)
    pi = torch.exp(-((1 - cos) ** 2) / sigma**2)
    design = torch.cat([torch.ones(n, 1, dtype=torch.float64), z], 1)
    sqrt_pi = pi.sqrt()[:, None]
    solution = torch.linalg.lstsq(design * sqrt_pi, f[:, None] * sqrt_pi).solution[:, 0]
    torch.testing.assert_close(result.weights[0], solution[1:], atol=1e-8, rtol=1e-8)
    assert result.effective_samples.item() == pytest.approx((pi.sum() ** 2 / (pi**2).sum()).item())


def test_image_lime_matches_captum_on_a_linear_model():
    captum = pytest.importorskip("captum.attr")
    from captum._utils.models.linear_model import SkLearnLinearRegression

    forward, _ = additive_model(3)
    x = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    black = torch.zeros_like(x)
    ours = lime_image(forward, x, SEGMENTS, baselines=black, n_samples=40, alpha=0.0, seed=0)
    mask = SEGMENTS.expand(1, 3, 6, 6)
    torch.manual_seed(0)
    theirs = captum.Lime(lambda v: forward(v)[:, None], interpretable_model=SkLearnLinearRegression()).attribute(
        x, baselines=black, target=0, feature_mask=mask, n_samples=40, return_input_shape=False)
    torch.testing.assert_close(ours.weights, theirs.to(torch.float64), atol=1e-6, rtol=1e-6)


def test_superpixels_come_from_skimage_and_are_relabelled_from_zero():
    from skimage.segmentation import slic

    rng = np.random.default_rng(0)
    image = np.zeros((32, 32, 3))
    image[:, 16:] = [1.0, 0.2, 0.0]  # two colour halves
    image += 0.01 * rng.standard_normal(image.shape)
    labels = superpixels(np.clip(image, 0, 1), n_segments=4)
    assert labels.shape == (32, 32) and labels.min() == 0
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1))
    reference = slic(np.clip(image, 0, 1), n_segments=4, compactness=10.0, sigma=1.0, start_label=0)
    assert len(np.unique(reference)) == labels.max() + 1
    assert np.array_equal(labels, superpixels(torch.tensor(np.clip(image, 0, 1)), n_segments=4))  # deterministic
    assert len(np.unique(labels[:, :14])) + len(np.unique(labels[:, 18:])) == labels.max() + 1  # no label across the edge
    with pytest.raises(ValueError, match="RGB"):
        superpixels(np.zeros((4, 4)))


def test_image_arguments_are_checked():
    forward, _ = additive_model()
    x = torch.zeros(1, 3, 6, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="segments must be"):
        lime_image(forward, x, torch.zeros(5, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer superpixel labels"):
        lime_image(forward, x, torch.zeros(6, 6))
    with pytest.raises(ValueError, match="images"):
        lime_image(lambda v: v.sum(1), torch.zeros(2, 6, dtype=torch.float64), SEGMENTS)
    with pytest.raises(ValueError, match="kernel_width"):
        lime_image(forward, x, SEGMENTS, kernel_width=0.0)


def test_paint_and_superpixel_sums_are_inverse_on_constants():
    weights = torch.tensor([[1.0, -2.0, 0.5, 3.0]], dtype=torch.float64)
    painted = paint(weights, SEGMENTS[None])
    assert painted.shape == (1, 6, 6)
    sums = superpixel_sums(painted[:, None], SEGMENTS)  # one channel: 9 pixels per band
    torch.testing.assert_close(sums, 9 * weights)


# ---------------------------------------------------------------- comparing explanations
def test_rank_correlation_and_top_k():
    a = torch.tensor([3.0, -5.0, 1.0, 0.5])
    assert rank_correlation(a, 2 * a + 1) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(a, torch.zeros(4)))
    assert top_k(a, 2) == [1, 0] and top_k(a, 2, absolute=False) == [0, 2]
    assert top_k_overlap(a, torch.tensor([0.0, 9.0, 8.0, 0.0]), 2) == 0.5
    with pytest.raises(ValueError, match="same number of features"):
        rank_correlation(a, torch.zeros(3))
