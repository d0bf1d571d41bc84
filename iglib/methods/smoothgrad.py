"""SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the input,

    SG(x) = (1/n) sum_{k=1..n} dF/dx (x + e_k),   e_k ~ N(0, sigma^2),

which smooths the visually noisy gradient map. Signed; not multiplied by the input;
no baseline (``baselines`` is checked and unused). F must be finite at x and at every noisy copy.
"""
from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_baselines, check_count, check_seed, quote
from ..forward import prepare
from ..memory import check_fits


def smoothgrad(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_samples: int = 50,
    stdev: float | Tensor | None = None,
    seed: int | None = None,
    internal_batch_size: int | str | None = None,
) -> Tensor:
    """Mean of dF/dx over ``n_samples`` copies x + N(0, stdev^2).

    ``stdev``: a number, a tensor broadcastable to ``inputs``, or None for
    0.15 * (max - min) of each example (the paper's 15% noise level); ``seed`` makes the
    noise reproducible (None: drawn from torch's global RNG).
    """
    F, x, _ = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    n_samples = check_count(n_samples, "n_samples")
    if stdev is None:
        flat = x.reshape(len(x), -1)
        sigma = (0.15 * (flat.max(1).values - flat.min(1).values)).reshape((-1,) + (1,) * (x.dim() - 1))
    elif isinstance(stdev, (Tensor, numbers.Real)) and not isinstance(stdev, bool):
        sigma = check_baselines(stdev, x, name="stdev")
    else:
        raise TypeError(f"stdev must be None, a number or a tensor, got {quote(stdev)}")
    if (sigma < 0).any():
        raise ValueError(f"stdev must be >= 0, got {quote(stdev)}")
    check_fits(3 * n_samples * x.numel() * x.element_size(), f"n_samples={n_samples} noisy copies of the {len(x)} examples",
               device=x.device)
    F.values(x[None], at="the inputs")
    noise = torch.randn((n_samples,) + x.shape, generator=check_seed(seed, x.device), dtype=x.dtype, device=x.device)
    grads, _ = F.gradients(x + sigma * noise, at="the noisy copies x + noise")
    return grads.mean(0)
