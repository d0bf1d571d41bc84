"""The gradient at the input (saliency): a_i = dF/dx_i (x).

The simplest attribution, and the one the paper's section 2 shows breaking
Sensitivity(a): F(x) = 1 - ReLU(1 - x) goes from 0 at x' = 0 to 1 at x = 2, yet
dF/dx(2) = 0. Signed, unlike ``captum.attr.Saliency`` whose default takes |dF/dx|.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from .. import forward as fw


def gradient(
    model: fw.Forward,
    inputs: Tensor,
    baselines: Any = None,
    target: fw.Target = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """dF/dx at ``inputs``, shaped like ``inputs``.

    ``baselines`` is accepted (and checked) only so that every method has the same call;
    the gradient does not use it.
    """
    x = fw.as_inputs(inputs)
    fw.as_baselines(baselines, x)
    fw.check_model(model, x)
    grad, _ = fw.gradients(model, x, target, additional_forward_args)
    return grad
