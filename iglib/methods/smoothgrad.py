"""SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the input,

    SG(x) = (1/n) sum_{k=1..n} dF/dx (x + e_k),   e_k ~ N(0, sigma^2),

which smooths the visually noisy gradient map. Signed; not multiplied by the input;
no baseline (``baselines`` is checked and unused).
"""
from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from .. import forward as fw
from ._sampling import generator, gradients_at


def smoothgrad(
    model: fw.Forward,
    inputs: Tensor,
    baselines: Any = None,
    target: fw.Target = None,
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
    x = fw.as_inputs(inputs)
    fw.as_baselines(baselines, x)
    fw.check_model(model, x)
    n_samples = fw.check_steps(n_samples, "n_samples")
    if stdev is None:
        flat = x.detach().reshape(len(x), -1)
        sigma = (0.15 * (flat.max(1).values - flat.min(1).values)).reshape((-1,) + (1,) * (x.dim() - 1))
    elif isinstance(stdev, Tensor):
        sigma = fw.as_baselines(stdev, x, name="stdev")
    elif isinstance(stdev, numbers.Real) and not isinstance(stdev, bool):
        sigma = torch.tensor(float(stdev), dtype=x.dtype, device=x.device)
    else:
        raise TypeError(f"stdev must be None, a number or a tensor, got {type(stdev).__name__}")
    if (sigma < 0).any():
        raise ValueError("stdev must be >= 0")
    noise = torch.randn((n_samples,) + x.shape, generator=generator(seed, x.device), dtype=x.dtype, device=x.device)
    points = x.detach() + sigma * noise
    return gradients_at(model, points, target, additional_forward_args, internal_batch_size).mean(0)
