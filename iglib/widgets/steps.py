"""How many steps m? A steps slider with a completeness gauge, one bar per quadrature rule.

For a rule with m nodes, IG's completeness gap is

    delta = sum_i IG_i - (F(x) - F(x')),

and the paper's rule of thumb is to raise m (20 to 300) until |delta| is within 5% of
|F(x) - F(x')|. The gauge shows that relative error |delta| / |F(x) - F(x')| for each rule
at the chosen m, against the tolerance line.

Besides iglib's rules (:data:`iglib.quadrature.METHODS`), ``captum_trapezoid`` is Captum's
biased trapezoid: the true trapezoid's nodes k/(m-1) with weights 1/m (halved at both ends),
which sum to (m-1)/m. Its attributions are (m-1)/m times the true trapezoid's, so

    delta_captum = (m-1)/m * delta_trapezoid - (F(x) - F(x')) / m.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from ..arguments import Model, TargetLike, check_count
from ..forward import prepare
from ..integrated_gradients import integrated_gradients
from ..quadrature import METHODS
from . import SliderFigure, slider_figure

CAPTUM_TRAPEZOID = "captum_trapezoid"
RULES = METHODS + (CAPTUM_TRAPEZOID,)
STEPS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 300, 384, 512)
_SMALLEST_SHOWN, _LARGEST_SHOWN = 1e-6, 1e3  # the gauge's log axis; errors outside are drawn at its ends


def _check_rules(methods: Sequence[str]) -> tuple[str, ...]:
    methods = tuple(methods)
    unknown = [m for m in methods if m not in RULES]
    if not methods or unknown:
        raise ValueError(f"methods must be a non-empty selection of {', '.join(RULES)}; got {list(methods)}")
    return methods


def _check_grid(steps: Sequence[int]) -> tuple[int, ...]:
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

    delta = sum_i IG_i - (F(x) - F(x')) with IG from :func:`iglib.integrated_gradients`
    (``captum_trapezoid`` from the true trapezoid, see the module docstring). Where
    F(x) = F(x') the relative error is undefined: inf (or nan when delta is 0 too).
    """
    methods, grid = _check_rules(methods), _check_grid(steps)
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


def steps_widget(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    additional_forward_args: Any = None,
    steps: Sequence[int] = STEPS,
    methods: Sequence[str] = RULES,
    tolerance: float = 0.05,
    n_steps: int | None = None,
) -> SliderFigure:
    """A slider over m in ``steps``; a bar per rule shows |delta| / |F(x) - F(x')| against ``tolerance``.

    Every (rule, m) is computed once, here, with :func:`relative_completeness_errors`; for a
    batch each bar shows the worst example. The slider starts at ``n_steps`` (default: the
    first m on the grid). ``last`` holds ``n_steps``, ``relative_delta`` and
    ``within_tolerance`` (both dicts by rule) of the last redraw.
    """
    if not (isinstance(tolerance, numbers.Real) and not isinstance(tolerance, (bool, np.bool_)) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number (0.05 is the paper's 5%), got {tolerance!r}")
    methods, grid = _check_rules(methods), _check_grid(steps)
    if n_steps is not None and n_steps not in grid:
        raise ValueError(f"n_steps must be one of steps {list(grid)}, got {n_steps!r}")
    errors = relative_completeness_errors(model, inputs, baselines, target, additional_forward_args, grid, methods)
    worst = {method: np.max(e, axis=1) for method, e in errors.items()}  # [len(grid)]

    def draw(n_steps: int) -> dict:
        k = grid.index(n_steps)
        shown = {method: float(worst[method][k]) for method in methods}
        within = {method: bool(value <= tolerance) for method, value in shown.items()}
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(methods) + 1.4))
        rows = np.arange(len(methods))[::-1]
        # drawn on the log axis: below _SMALLEST_SHOWN on the axis, undefined (F(x) = F(x')) at the far end
        values = np.clip(np.nan_to_num([shown[rule] for rule in methods], nan=np.inf), _SMALLEST_SHOWN, _LARGEST_SHOWN)
        colors = ["tab:green" if within[rule] else "tab:red" for rule in methods]
        ax.barh(rows, values - _SMALLEST_SHOWN, left=_SMALLEST_SHOWN, color=colors)
        for row, method, value in zip(rows, methods, values):
            ax.text(value * 1.3, row, f"{100 * shown[method]:.3g}%", va="center", fontsize=9,
                    bbox=dict(facecolor="white", edgecolor="none", pad=1))
        ax.axvline(tolerance, color="black", linestyle="--", label=f"tolerance {100 * tolerance:g}%")
        ax.set_xscale("log")
        ax.set_xlim(_SMALLEST_SHOWN, max(10.0, 20 * values.max()))
        ax.set_yticks(rows, methods)
        ax.set_xlabel(r"$|\delta| \,/\, |F(x) - F(x')|$ (worst example)")
        ax.set_title(f"completeness after m = {n_steps} steps")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return {"n_steps": n_steps, "relative_delta": shown, "within_tolerance": within}

    slider = widgets.SelectionSlider(options=list(grid), value=grid[0] if n_steps is None else n_steps, description="m steps")
    return slider_figure(draw, n_steps=slider)
