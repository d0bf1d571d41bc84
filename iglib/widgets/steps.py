"""How many steps m? A steps slider with a completeness gauge, one bar per quadrature rule.

For a rule with m nodes, IG's completeness gap is

    delta = sum_i IG_i - (F(x) - F(x')),

and the paper's rule of thumb is to raise m (20 to 300) until |delta| is within 5% of
|F(x) - F(x')|. The gauge shows that relative error |delta| / |F(x) - F(x')| for each rule
at the chosen m, against the tolerance line.

Besides iglib's rules (:data:`iglib.quadrature.METHODS`), ``captum_trapezoid`` is Captum's
biased trapezoid (see :data:`iglib.checks.completeness.CAPTUM_TRAPEZOID`). The errors are computed
by :func:`iglib.checks.completeness.relative_completeness_errors`; this module only draws them.
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from ..arguments import Model, TargetLike
from ..checks.completeness import RULES, STEPS, check_rules, check_steps, relative_completeness_errors
from . import SliderFigure, slider_figure

_SMALLEST_SHOWN, _LARGEST_SHOWN = 1e-6, 1e3  # the gauge's log axis; errors outside are drawn at its ends


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
    methods, grid = check_rules(methods), check_steps(steps)
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
