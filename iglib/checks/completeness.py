"""How many steps m? Completeness as a check on IG's approximation.

Completeness, sum_i IG_i(x) = F(x) - F(x'), holds for IG itself; the approximation with m nodes
misses it by delta = sum_i IG_i - (F(x) - F(x')). The paper's rule: raise m until |delta| is within
5% of |F(x) - F(x')|. :func:`relative_completeness_errors` gives |delta| / |F(x) - F(x')| for each
quadrature rule at each m (notebook 05's gauge, drawn by :mod:`iglib.widgets.steps`).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from torch import Tensor

from ..arguments import Model, TargetLike, check_count
from ..forward import prepare
from ..integrated_gradients import integrated_gradients
from ..quadrature import METHODS

# Captum's biased trapezoid: the true trapezoid's nodes k/(m-1) with weights 1/m (halved at both
# ends), which sum to (m-1)/m. Its attributions are (m-1)/m times the true trapezoid's, so
#     delta_captum = (m-1)/m * delta_trapezoid - (F(x) - F(x')) / m.
CAPTUM_TRAPEZOID = "captum_trapezoid"
RULES = METHODS + (CAPTUM_TRAPEZOID,)
STEPS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 300, 384, 512)


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
