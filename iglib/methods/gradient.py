"""The gradient at the input (saliency): a_i = dF/dx_i (x).

The simplest attribution, and the one the paper's section 2 shows breaking
Sensitivity(a): F(x) = 1 - ReLU(1 - x) goes from 0 at x' = 0 to 1 at x = 2, yet
dF/dx(2) = 0. Signed, unlike ``captum.attr.Saliency`` whose default takes |dF/dx|.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..arguments import Model, TargetLike
from ..forward import prepare


def gradient(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
) -> Tensor:
    """dF/dx at ``inputs``, shaped like ``inputs``.

    ``baselines`` is accepted (and checked) only so that every method has the same call;
    the gradient does not use it.
    """
    F, x, _ = prepare(model, inputs, baselines, target, additional_forward_args)
    grads, _ = F.gradients(x[None], at="the inputs")
    return grads[0]
