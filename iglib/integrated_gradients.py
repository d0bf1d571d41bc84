"""Integrated Gradients (Sundararajan, Taly and Yan, 2017, equation 1):

    IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + alpha (x - x'))/dx_i  d alpha

approximated with m = ``n_steps`` nodes alpha_k and weights w_k of a quadrature rule:

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k * dF(x' + alpha_k (x - x'))/dx_i.

Completeness: sum_i IG_i(x) = F(x) - F(x'); the convergence delta measures how far the
approximation is from it. The paper's rule of thumb: 20 to 300 steps, and raise the
steps until |delta| is within 5% of |F(x) - F(x')|: :func:`relative_completeness_errors`
gives |delta| / |F(x) - F(x')| for each rule at each m.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .arguments import Model, TargetLike, check_count
from .forward import prepare
from .quadrature import METHODS, nodes

# Captum's biased trapezoid: the true trapezoid's nodes k/(m-1) with weights 1/m (halved at both
# ends), which sum to (m-1)/m. Its attributions are (m-1)/m times the true trapezoid's, so
#     delta_captum = (m-1)/m * delta_trapezoid - (F(x) - F(x')) / m.
CAPTUM_TRAPEZOID = "captum_trapezoid"
RULES = METHODS + (CAPTUM_TRAPEZOID,)
STEPS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 300, 384, 512)


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


# ---------------------------------------------------------------- how many steps m?
def check_rules(methods: Sequence[str]) -> tuple[str, ...]:
    """``methods`` as a tuple: a non-empty selection of :data:`RULES`."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in RULES]
    if not methods or unknown:
        raise ValueError(f"methods must be a non-empty selection of {', '.join(RULES)}; got {list(methods)}")
    return methods


def check_steps(steps: Sequence[int]) -> tuple[int, ...]:
    """``steps`` as a tuple: a non-empty increasing sequence of step counts."""
    grid = tuple(check_count(m, "steps") for m in steps)
    if not grid or list(grid) != sorted(set(grid)):
        raise ValueError(f"steps must be a non-empty increasing sequence of ints >= 1, got {list(steps)}")
    return grid


def relative_completeness_errors(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    steps: Sequence[int] = STEPS,
    methods: Sequence[str] = RULES,
) -> dict[str, np.ndarray]:
    """|delta| / |F(x) - F(x')| per rule: an array [len(steps), N], row k for m = steps[k].

    delta = sum_i IG_i - (F(x) - F(x')) with IG from :func:`integrated_gradients`
    (``captum_trapezoid`` from the true trapezoid, see :data:`CAPTUM_TRAPEZOID`). Where
    F(x) = F(x') the relative error is undefined: inf (or nan when delta is 0 too).
    """
    methods, grid = check_rules(methods), check_steps(steps)
    F, x, base = prepare(model, inputs, baselines, target, additional_forward_args)
    change = F.difference(x, base).cpu().double().numpy()

    def delta(method: str, m: int) -> np.ndarray:
        _, d = integrated_gradients(
            model, x, base, target, additional_forward_args, n_steps=m, method=method, return_convergence_delta=True
        )
        return d.detach().cpu().double().numpy()

    gaps: dict[str, list[np.ndarray]] = {method: [] for method in methods}
    for m in grid:
        trapezoid = delta("riemann_trapezoid", m) if {"riemann_trapezoid", CAPTUM_TRAPEZOID} & set(methods) else None
        for method in methods:
            if method == CAPTUM_TRAPEZOID:
                gaps[method].append((m - 1) / m * trapezoid - change / m)
            else:
                gaps[method].append(trapezoid if method == "riemann_trapezoid" else delta(method, m))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {method: np.abs(np.stack(rows)) / np.abs(change) for method, rows in gaps.items()}
