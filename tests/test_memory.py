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
