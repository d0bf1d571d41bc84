"""Shared by the sampling methods: a seeded generator and gradients at many points."""
from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from .. import forward as fw
from ..memory import resolve_batch_size


def generator(seed: Any, device: torch.device) -> torch.Generator:
    """A torch.Generator seeded with ``seed``; None draws the seed from torch's global RNG,
    so ``torch.manual_seed`` still makes the result reproducible."""
    if seed is None:
        seed = int(torch.randint(0, 2**62, ()).item())
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None or an int, got {seed!r}")
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def gradients_at(
    model: fw.Forward, points: Tensor, target: fw.Target, additional_forward_args: Any, internal_batch_size: Any
) -> Tensor:
    """dF/dx at ``points`` [S, N, ...] (S samples of the N examples), at most
    ``internal_batch_size`` examples per forward pass (at least one sample of all N)."""
    ibs = resolve_batch_size(internal_batch_size, model, points[0], target, additional_forward_args)
    return fw.gradients_at(model, points, target, additional_forward_args, ibs)[0]
