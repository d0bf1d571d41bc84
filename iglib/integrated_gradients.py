"""Integrated Gradients (Sundararajan, Taly and Yan, 2017, equation 1):

    IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + alpha (x - x'))/dx_i  d alpha

approximated with m = ``n_steps`` nodes of a quadrature rule:

    IG_i(x) ~ (x_i - x'_i) * sum_k w_k * dF(x' + alpha_k (x - x'))/dx_i.

Completeness: sum_i IG_i(x) = F(x) - F(x'); the convergence delta measures how far the
approximation is from it. The paper's rule of thumb: 20 to 300 steps, and raise the
steps until |delta| is within 5% of |F(x) - F(x')|.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor

from . import forward as fw
from .adaptive import adaptive_integrated_gradients
from .memory import resolve_batch_size
from .paths import path_integrated_gradients, straight_line

ADAPTIVE = "adaptive"


def integrated_gradients(
    forward: fw.Forward,
    inputs: Tensor,
    baselines: Any = None,
    target: fw.Target = None,
    additional_forward_args: Any = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | str | None = None,
    return_convergence_delta: bool = False,
    tol: float = 0.01,
) -> Tensor | tuple[Tensor, Tensor]:
    """IG of ``forward``'s ``target`` score at ``inputs`` relative to ``baselines`` x'.

    A drop-in for ``captum.attr.IntegratedGradients(forward).attribute(inputs, ...)``
    with the same arguments, for one input tensor (batch on dimension 0):

    - ``baselines``: None (zeros), a number, or a tensor broadcastable to ``inputs``;
    - ``target``: None, an int, a tuple, or a list / 1-D tensor with one class per example;
    - ``method``: ``riemann_left``, ``riemann_right``, ``riemann_middle``,
      ``riemann_trapezoid`` (the true trapezoid rule, weights summing to 1; Captum's
      sum to (m-1)/m), ``gausslegendre``, or ``adaptive``: at most ``n_steps`` gradient
      evaluations, placed where the integrand changes, until the relative completeness
      error is at most ``tol`` (see :mod:`iglib.adaptive`);
    - ``internal_batch_size``: at most this many examples per forward pass (at least one
      step at a time), or ``"auto"``: the most that fit the device's memory
      (:mod:`iglib.memory`); it bounds memory and never changes the result;
    - returns attributions shaped like ``inputs``, and with ``return_convergence_delta``
      also delta = sum_i IG_i - (F(x) - F(x')), one value per example.
    """
    x = fw.as_inputs(inputs)
    x_base = fw.as_baselines(baselines, x)
    if method == ADAPTIVE:
        fw.check_model(forward, x)
        n_steps = fw.check_steps(n_steps)
        ibs = resolve_batch_size(internal_batch_size, forward, x, target, additional_forward_args)
        attributions, delta, _ = adaptive_integrated_gradients(
            forward, x, x_base, target, additional_forward_args, n_steps, tol, ibs
        )
        return (attributions, delta) if return_convergence_delta else attributions
    return path_integrated_gradients(
        forward,
        x,
        straight_line(x_base, x),
        target=target,
        additional_forward_args=additional_forward_args,
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=return_convergence_delta,
    )
