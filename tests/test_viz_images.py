"""The paper's image visualization: deterministic, normalized, sign-blind, and honest about its input."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from iglib import viz

matplotlib.use("Agg")


def _attributions(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, 20, 30, generator=torch.Generator().manual_seed(seed))


def test_mask_is_the_clipped_channel_sum_of_absolute_values():
    a = _attributions()
    mask = viz.attribution_mask(a, clip_percentile=99.0)
    total = a.abs().sum(0).numpy().astype(np.float64)
    expected = np.clip(total / np.percentile(total, 99.0), 0, 1)
    assert mask.shape == (20, 30) and np.allclose(mask, expected)
    assert mask.min() >= 0 and mask.max() == 1.0
    assert (mask == 1.0).mean() == pytest.approx(0.01, abs=0.005)      # the top 1% is clipped to 1
    assert np.array_equal(mask, viz.attribution_mask(a.clone(), 99.0))  # deterministic
    assert np.array_equal(mask, viz.attribution_mask(-a, 99.0))         # the sign does not matter
    assert np.array_equal(mask, viz.attribution_mask(a.unsqueeze(0), 99.0))
    assert np.allclose(viz.attribution_mask(a * 1e-7, 99.0), mask)      # scale-free
    assert np.array_equal(viz.attribution_mask(torch.zeros(3, 4, 4)), np.zeros((4, 4)))


def test_soft_window_and_overlay_stay_in_range():
    image = np.random.default_rng(0).random((20, 30, 3))
    mask = viz.attribution_mask(_attributions())
    window = viz.soft_window(image, mask)
    assert np.allclose(window, image * mask[..., None])
    painted = viz.overlay(image, mask)
    assert painted.shape == image.shape and painted.min() >= 0 and painted.max() <= 1
    full = mask == 1.0
    assert np.allclose(painted[full], (1.0, 0.35, 0.0))                 # the colour where the mask is 1
    with pytest.raises(ValueError, match="same size"):
        viz.soft_window(image, mask[:10])


def test_errors_and_the_grid_figure():
    with pytest.raises(ValueError, match=r"attributions must be \[C, H, W\]"):
        viz.attribution_mask(torch.zeros(20, 30))
    with pytest.raises(ValueError, match="clip_percentile"):
        viz.attribution_mask(_attributions(), clip_percentile=0)
    image = np.zeros((20, 30, 3))
    fig = viz.attribution_grid([(image, {"a": _attributions(), "b": _attributions(1)}, "t")], with_overlay=True)
    assert len(fig.axes) == 5
    with pytest.raises(ValueError, match="rows must hold"):
        viz.attribution_grid([])


def test_attribution_comparison_puts_maps_on_one_scale_unless_told_otherwise():
    import matplotlib.pyplot as plt
    import numpy as np
    import pytest
    import torch

    from iglib import viz

    image = np.zeros((8, 8, 3))
    big, small = torch.zeros(3, 8, 8), torch.zeros(3, 8, 8)
    big[0, 2, 2], small[0, 2, 2], small[0, 3, 3] = 10.0, 0.1, -0.1
    gradient = torch.full((3, 8, 8), 1e-4)
    fig = viz.attribution_comparison(image, {"IG": big, "gxi": small, "gradient": gradient}, own_scale=("gradient",))
    signed = [ax.images[0] for ax in fig.axes[1:4]]
    assert signed[0].get_clim() == signed[1].get_clim()          # IG and gradient x input: one scale
    assert signed[0].get_clim()[0] == -signed[0].get_clim()[1]    # centred on zero
    assert signed[2].get_clim() != signed[0].get_clim()          # the gradient: its own
    assert all(im.get_cmap().name == viz.DIVERGING for im in signed)
    assert len([ax for ax in fig.axes if ax.get_label() == "<colorbar>"]) == 4  # shared + own, two rows
    plt.close(fig)
    with pytest.raises(ValueError, match="own_scale names"):
        viz.attribution_comparison(image, {"IG": big}, own_scale=("nope",))
