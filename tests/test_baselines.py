"""Image baselines: each is what its name says, deterministic, and shaped like the input."""
from __future__ import annotations

import pytest
import torch

from iglib import baselines

LOW, HIGH = -127 / 128, 1.0


def _images() -> torch.Tensor:
    return torch.rand(2, 3, 32, 40, generator=torch.Generator().manual_seed(0)) * (HIGH - LOW) + LOW


def test_constant_and_uniform_noise():
    x = _images()
    assert torch.equal(baselines.constant(x, LOW), torch.full_like(x, LOW))
    noise = baselines.uniform_noise(x, LOW, HIGH, seed=3)
    assert noise.shape == x.shape and noise.min() >= LOW and noise.max() <= HIGH
    assert torch.equal(noise, baselines.uniform_noise(x, LOW, HIGH, seed=3))
    assert not torch.equal(noise, baselines.uniform_noise(x, LOW, HIGH, seed=4))
    assert abs(noise.mean().item() - (LOW + HIGH) / 2) < 0.02


def test_blur_keeps_constants_and_means_and_removes_edges():
    kernel = baselines.gaussian_kernel(2.0)
    assert kernel.sum().item() == pytest.approx(1.0) and torch.equal(kernel, kernel.flip(0))
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(baselines.blurred(flat, sigma=2.0), flat, atol=1e-6)
    x = _images()
    blurred = baselines.blurred(x, sigma=3.0)
    assert blurred.shape == x.shape
    assert blurred.std() < 0.3 * x.std()                          # the pixel noise is gone
    assert torch.allclose(blurred.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=0.05)  # colour kept
    step = torch.zeros(1, 1, 20, 20)
    step[..., 10:] = 1.0
    edge = baselines.blurred(step, sigma=2.0)[0, 0, 5]
    assert 0 < edge[9] < 0.5 < edge[10] < 1                       # a soft edge where the step was
    with pytest.raises(ValueError, match="sigma must be > 0"):
        baselines.blurred(x, sigma=0)
    with pytest.raises(ValueError, match="too wide"):
        baselines.blurred(x, sigma=30)


def test_maximum_distance_is_the_farthest_valid_image():
    x = _images()
    far = baselines.maximum_distance(x, LOW, HIGH)
    assert set(far.unique().tolist()) <= {LOW, HIGH}
    assert ((x - far).abs() >= (HIGH - LOW) / 2 - 1e-6).all()
    assert torch.equal(far[x > (LOW + HIGH) / 2], torch.full_like(x[x > (LOW + HIGH) / 2], LOW))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"inputs must be images \[N, C, H, W\]"):
        baselines.blurred(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="low must be below high"):
        baselines.uniform_noise(_images(), 1.0, 0.0)


def test_gaussian_noise_is_the_image_plus_clipped_noise():
    x = _images()
    noisy = baselines.gaussian_noise(x, 0.2, LOW, HIGH, seed=1)
    assert noisy.shape == x.shape and noisy.min() >= LOW and noisy.max() <= HIGH
    assert torch.equal(noisy, baselines.gaussian_noise(x, 0.2, LOW, HIGH, seed=1))
    inside = (noisy > LOW) & (noisy < HIGH)
    spread = (noisy - x)[inside].std().item()
    assert 0.17 < spread < 0.21  # the clipped values aside, the noise has the standard deviation asked for
    with pytest.raises(ValueError, match="sigma must be > 0"):
        baselines.gaussian_noise(x, 0.0, LOW, HIGH)
