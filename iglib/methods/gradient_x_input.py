"""Gradient times input: a_i = (x_i - x'_i) * dF/dx_i (x).

With the default zero baseline this is the paper's x * dF/dx (Shrikumar et al. 2016).
It is exact for linear F but breaks completeness elsewhere: on
f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) at x = (3, 1) it gives (3, -1), summing to 2
while F(x) - F(x') = 1.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..arguments import Model, TargetLike
from ..forward import prepare


def gradient_x_input(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """(x - x') * dF/dx (x), shaped like ``inputs``; ``baselines`` x' default zeros."""
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args)
    grads, _ = F.gradients(x[None], at="the inputs")
    return (x - x_base) * grads[0]
