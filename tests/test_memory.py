"""internal_batch_size="auto": measured per-point memory, a chunk that fits, the same result."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import iglib
from iglib import forward, memory


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(50, 400), nn.ReLU(), nn.Linear(400, 400), nn.Tanh(), nn.Linear(400, 3)).eval()


def test_saved_bytes_grow_with_the_batch_like_the_activations():
    model = _mlp()
    one = forward.saved_bytes(model, torch.randn(1, 50), target=0)
    eight = forward.saved_bytes(model, torch.randn(8, 50), target=0)
    weights = sum(p.numel() * 4 for p in model.parameters() if p.dim() == 2)
    per_point = (eight - one) / 7
    # saved per point: the inputs of the three linear layers and the ReLU/tanh outputs, 4 bytes each
    assert 4 * (50 + 400 + 400) <= per_point <= 4 * (50 + 4 * 400 + 3)
    assert one < weights + 2 * per_point  # weights are counted at most once


def test_auto_batch_size_fits_the_budget():
    model, x = _mlp(), torch.randn(2, 50)
    per_point = memory.SAFETY * forward.saved_bytes(model, x, target=0) / 2 + 4 * 50 * 4
    assert forward.auto_batch_size(model, x, target=0, budget=int(10 * per_point)) == 10
    assert forward.auto_batch_size(model, x, target=0, budget=1) == 1
    assert forward.auto_batch_size(model, x, target=0) >= forward.auto_batch_size(model, x, target=0, budget=10**6)
    assert memory.device_budget(torch.device("cpu")) > 0
    with pytest.raises(ValueError, match="budget must be >= 1, got 0"):
        forward.auto_batch_size(model, x, target=0, budget=0)


@pytest.mark.parametrize("ig", [iglib.integrated_gradients, iglib.adaptive_integrated_gradients])
def test_auto_gives_the_same_result_as_a_fixed_batch(ig):
    model, x = _mlp(), torch.randn(3, 50)
    fixed = ig(model, x, target=[0, 1, 2], n_steps=40, internal_batch_size=7)
    auto = ig(model, x, target=[0, 1, 2], n_steps=40, internal_batch_size="auto")
    assert torch.allclose(fixed, auto, atol=1e-6)
    eg = iglib.expected_gradients(model, x, torch.zeros(4, 50), target=0, n_samples=8, seed=0, internal_batch_size="auto")
    assert torch.allclose(eg, iglib.expected_gradients(model, x, torch.zeros(4, 50), target=0, n_samples=8, seed=0))


def test_a_wrong_string_is_an_error():
    with pytest.raises(ValueError, match="internal_batch_size must be None, an int >= 1 or 'auto'"):
        iglib.integrated_gradients(_mlp(), torch.randn(1, 50), target=0, internal_batch_size="max")


def test_expected_gradients_takes_its_draws_in_chunks(monkeypatch):
    """Memory does not grow with n_samples: all draws at once (3 x 200 draws x 2 examples x 4,000 features x 4 bytes,
    about 19 MB) would exceed a 4 MB budget, but an internal_batch_size of 10 points evaluates 5 draws at a time,
    with the same result. Without internal_batch_size the one pass of every draw is refused by name."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4000, 8), nn.Tanh(), nn.Linear(8, 3)).eval()
    x, refs = torch.randn(2, 4000), torch.randn(3, 4000)
    at_once = iglib.expected_gradients(model, x, refs, target=0, n_samples=200, seed=0)
    monkeypatch.setattr(memory, "device_budget", lambda device: 4 * 2**20)
    chunked = iglib.expected_gradients(model, x, refs, target=0, n_samples=200, seed=0, internal_batch_size=10)
    torch.testing.assert_close(chunked, at_once, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"n_samples=200 with internal_batch_size=None evaluates 200 points of each of the 2"):
        iglib.expected_gradients(model, x, refs, target=0, n_samples=200, seed=0)
