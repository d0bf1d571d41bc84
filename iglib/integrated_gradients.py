"""Integrated Gradients (Sundararajan, Taly and Yan, 2017, equation 1):

    IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + alpha (x - x'))/dx_i  d alpha

approximated with m = ``n_steps`` nodes alpha_k and weights w_k of a quadrature rule:

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k * dF(x' + alpha_k (x - x'))/dx_i.

Completeness: sum_i IG_i(x) = F(x) - F(x'); the convergence delta measures how far the
approximation is from it. The paper's rule of thumb: 20 to 300 steps, and raise the
steps until |delta| is within 5% of |F(x) - F(x')|
(:func:`iglib.checks.completeness.relative_completeness_errors` measures it for each rule at each m).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .arguments import Model, TargetLike
from .forward import prepare
from .quadrature import nodes


def integrated_gradients(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """IG of ``model``'s ``target`` score at ``inputs`` relative to ``baselines`` x'.

    A drop-in for ``captum.attr.IntegratedGradients(model).attribute(inputs, ...)``
    with the same arguments, for one input tensor (batch on dimension 0):

    - ``baselines``: None (zeros), a number, or a tensor broadcastable to ``inputs``;
    - ``target``: None, an int, a tuple, or a list / 1-D tensor with one class (or tuple) per example;
    - ``method``, the quadrature rule: ``riemann_left``, ``riemann_right``, ``riemann_middle``,
      ``riemann_trapezoid`` (the true trapezoid rule, weights summing to 1; Captum's
      sum to (m-1)/m) or ``gausslegendre`` (for adaptive IG see
      :func:`iglib.adaptive_integrated_gradients`);
    - ``internal_batch_size``: at most this many examples per forward pass (at least one
      step at a time), or ``"auto"``: the most that fit the device's memory
      (:mod:`iglib.memory`); it bounds memory and never changes the result;
    - returns attributions shaped like ``inputs``, and with ``return_convergence_delta``
      also delta = sum_i IG_i - (F(x) - F(x')), one value per example.
    """
    F, x, x_base = prepare(model, inputs, baselines, target, additional_forward_args, internal_batch_size)
    alphas, weights = nodes(method, n_steps, like=x)
    change = F.difference(x, x_base)                                 # F(x) - F(x'), finite
    total = torch.zeros_like(x)                                      # sum_k w_k dF/dx(x' + alpha_k (x - x'))
    for chunk in F.chunks(len(alphas)):
        points = x_base + alphas[chunk] * (x - x_base)               # [k, N, *features]
        grads, _ = F.gradients(points, alphas=alphas[chunk].reshape(-1))
        total += torch.tensordot(weights[chunk], grads, dims=1)
    attributions = (x - x_base) * total
    if not return_convergence_delta:
        return attributions
    return attributions, attributions.reshape(len(x), -1).sum(1) - change
