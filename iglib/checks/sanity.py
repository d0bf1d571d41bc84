"""Sanity checks for attribution maps (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018).

Cascading randomisation: re-initialise the network's layers one after another, from the top (the
logits) down, and after each step compare every attribution method's map with its map on the
trained network. An attribution method that explains *the model* must change as the model is
destroyed; a map that stays the same explains the image (edges, colours), whatever the weights. The
comparison is Spearman's rank correlation of the masks m = sum_c |a_c| (the paper's visualization
before clipping), as in Adebayo et al.'s "absolute value" variant.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .evaluation import rank_correlation

Explain = Callable[[nn.Module], "dict[str, Tensor]"]


def randomize(model: nn.Module, modules: Sequence[str], seed: int = 0) -> None:
    """Re-initialise, in place, every submodule under the named ``modules`` with PyTorch's default
    initialisation (``reset_parameters``: weights drawn afresh; batch norm back to mean 0, variance 1)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in modules:
            for module in model.get_submodule(name).modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()


def cascading_randomization(model: nn.Module, layers: Sequence[tuple[str, Sequence[str]]], explain: Explain,
                            seed: int = 0) -> list[tuple[str, dict[str, Tensor]]]:
    """[("trained", maps), (label_1, maps), ...]: ``explain(network)`` on the trained network, then after
    randomising each group of ``layers`` (label, module names) in turn, cumulatively, top first.
    ``model`` itself is not changed (a copy is randomised)."""
    network = copy.deepcopy(model)
    stages = [("trained", explain(network))]
    for k, (label, names) in enumerate(layers):
        randomize(network, names, seed + k)
        stages.append((label, explain(network)))
    return stages


def mask(attributions: Tensor) -> Tensor:
    """m = sum over colour channels of |a| for [C, H, W] (or [1, C, H, W]); |a| for anything else."""
    a = attributions.detach().abs()
    if a.dim() == 4 and a.shape[0] == 1:
        a = a[0]
    return a.sum(dim=0) if a.dim() == 3 else a


def similarity(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of the masks of two maps (1: the same ranking of pixels)."""
    return rank_correlation(mask(a), mask(b))


def similarity_table(stages: list[tuple[str, dict[str, Tensor]]]) -> dict[str, np.ndarray]:
    """Attribution method -> the similarity of its map at each stage with its map on the trained network."""
    trained = stages[0][1]
    return {name: np.array([similarity(trained[name], maps[name]) for _, maps in stages]) for name in trained}
