"""Gradient times input: a_i = (x_i - x'_i) * dF/dx_i (x).

With the default zero baseline this is the paper's x * dF/dx (Shrikumar et al. 2016).
It is exact for linear F but breaks completeness elsewhere: on
f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) at x = (3, 1) it gives (3, -1), summing to 2
while F(x) - F(x') = 1.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from .. import forward as fw


def gradient_x_input(
    model: fw.Forward,
    inputs: Tensor,
    baselines: Any = None,
    target: fw.Target = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """(x - x') * dF/dx (x), shaped like ``inputs``; ``baselines`` x' default zeros."""
    x = fw.as_inputs(inputs)
    x_base = fw.as_baselines(baselines, x)
    fw.check_model(model, x)
    grad, _ = fw.gradients(model, x, target, additional_forward_args)
    return (x - x_base).detach() * grad
