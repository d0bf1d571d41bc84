"""Quadrature rules: the nodes alpha_k and weights w_k that approximate an integral over [0, 1].

    integral_0^1 h(alpha) d alpha  ~  sum_k w_k h(alpha_k)

Integrated Gradients integrates the gradient along a path, so every path method takes
its alphas and weights from here (the separation Captum's ``approximation_methods`` makes).

Rules, with m = n_steps:
- ``riemann_left``:   alpha_k = k/m,        k = 0..m-1, w_k = 1/m
- ``riemann_right``:  alpha_k = k/m,        k = 1..m,   w_k = 1/m  (the paper's equation 3)
- ``riemann_middle``: alpha_k = (k+1/2)/m,  k = 0..m-1, w_k = 1/m
- ``riemann_trapezoid``: alpha_k = k/(m-1), k = 0..m-1, w_k = 1/(m-1), halved at both ends.
  This is the true trapezoid rule: its weights sum to 1, so it integrates constants (and
  linear functions) exactly. Captum's rule of the same name puts m nodes on [0, 1] but
  gives them the weights 1/m (halved at the ends), which sum to (m-1)/m: its
  attributions are shrunk by that factor and completeness is off by F(x)-F(x') / m.
- ``gausslegendre``: the m-point Gauss-Legendre nodes and weights mapped from [-1, 1] to
  [0, 1]; exact for polynomials of degree 2m-1 (Captum's default). The nodes are the roots
  of the Legendre polynomial P_m, found by Newton's method from their asymptotic positions,
  P_m and P_m' by the three-term recurrence (O(m) per node, O(m^2) in all; numpy's
  ``leggauss`` solves an m x m eigenproblem, O(m^3)); the weights are
  w_k = 2 / ((1 - x_k^2) P_m'(x_k)^2).

All nodes and weights are float64 numpy arrays. (Captum computes its Riemann nodes with
``torch.linspace`` in float32, so they carry ~1e-8 rounding; ours are exact in float64.)
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from .arguments import check_count
from .memory import check_fits

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def alphas_and_weights(method: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The nodes alpha_k in [0, 1] and weights w_k (summing to 1) of ``method`` with m = ``n_steps``."""
    m = check_count(n_steps, "n_steps")
    if method not in METHODS:
        adaptive = " (adaptive IG is its own function: iglib.adaptive_integrated_gradients)" if method == "adaptive" else ""
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}{adaptive}")
    # two float64 arrays; Gauss-Legendre's Newton iteration holds a few more of half that length
    check_fits(16 * m + (48 * m if method == "gausslegendre" else 0), f"n_steps={m} with method={method!r}",
               device=torch.device("cpu"))  # numpy, on the host
    k = np.arange(m, dtype=np.float64)
    if method == "riemann_left":
        return k / m, np.full(m, 1.0 / m)
    if method == "riemann_right":
        return (k + 1) / m, np.full(m, 1.0 / m)
    if method == "riemann_middle":
        return (k + 0.5) / m, np.full(m, 1.0 / m)
    if method == "riemann_trapezoid":
        if m < 2:
            raise ValueError(f"n_steps must be >= 2 for riemann_trapezoid (it needs both ends), got {m}")
        weights = np.full(m, 1.0 / (m - 1))
        weights[[0, -1]] /= 2
        return k / (m - 1), weights
    nodes, weights = _gauss_legendre(m)
    return (nodes + 1) / 2, weights / 2


def _legendre(m: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P_m(x), P_m'(x)) by the recurrence (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1}, with
    P_m' = m (x P_m - P_{m-1}) / (x^2 - 1) (for |x| < 1)."""
    before, p = np.ones_like(x), x.copy()
    for k in range(1, m):
        before, p = p, ((2 * k + 1) * x * p - k * before) / (k + 1)
    return p, m * (x * p - before) / (x * x - 1)


@lru_cache(maxsize=64)
def _gauss_legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m-point rule on [-1, 1], nodes ascending: the roots x_k of P_m by Newton's method
    from x_k ~ (1 - 1/(8 m^2) + 1/(8 m^3)) cos(pi (k - 1/4) / (m + 1/2)) (Tricomi), and
    w_k = 2 / ((1 - x_k^2) P_m'(x_k)^2). The rule is symmetric: only the roots in [0, 1) are
    computed. Cached."""
    if m == 1:
        nodes, weights = np.zeros(1), np.full(1, 2.0)
    else:
        k = np.arange(1, (m + 1) // 2 + 1, dtype=np.float64)            # the roots >= 0, largest first
        x = (1 - 1 / (8 * m**2) + 1 / (8 * m**3)) * np.cos(np.pi * (k - 0.25) / (m + 0.5))
        for _ in range(100):
            p, dp = _legendre(m, x)
            step = p / dp
            x = x - step
            if np.abs(step).max() <= 2 * np.finfo(np.float64).eps:
                break
        if m % 2:
            x[-1] = 0.0                                                   # the middle root of odd m
        _, dp = _legendre(m, x)
        w = 2 / ((1 - x * x) * dp * dp)
        middle = m % 2                                                    # 0 is its own mirror image
        nodes = np.concatenate([-x, x[::-1][middle:]])
        weights = np.concatenate([w, w[::-1][middle:]])
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def nodes(method: str, n_steps: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """alpha_k and w_k as tensors in ``like``'s dtype and device; alpha_k shaped [m, 1, ...] to
    broadcast against ``like`` (x' + alpha_k (x - x') is then [m, *like.shape])."""
    alphas, weights = alphas_and_weights(method, n_steps)
    as_tensor = lambda a: torch.as_tensor(a, dtype=like.dtype, device=like.device)  # noqa: E731
    return as_tensor(alphas).reshape((-1,) + (1,) * like.dim()), as_tensor(weights)
