"""Implementation invariance: two equivalent networks, four methods, side by side.

Sliders move the input x = (x1, x2) (baseline x' fixed) and LRP's epsilon; the figure shows
each method's attributions for f and for g. f and g compute the same function, so an
implementation-invariant method draws identical bars for both. All attributions are
computed once for the whole grid of inputs (:func:`iglib.checks.grids.invariance_grid`); moving a
slider only indexes them.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from torch import nn

from ..checks.grids import INVARIANCE_METHODS as METHODS
from ..checks.grids import invariance_grid
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure

TITLES = {
    "gradient_x_input": "gradient x input",
    "deeplift": "DeepLIFT (rescale)",
    "lrp": "LRP (epsilon)",
    "integrated_gradients": "Integrated Gradients",
}


def invariance_widget(
    f: nn.Module,
    g: nn.Module,
    x1_values: Sequence[float],
    x2_values: Sequence[float],
    epsilons: Sequence[float] = (0.0, 0.001, 0.01, 0.1, 1.0),
    baseline: tuple[float, float] = (0.0, 0.0),
    x: tuple[float, float] = (3.0, 1.0),
    ig_steps: int = 1000,
) -> SliderFigure:
    """Sliders over x1, x2 (evenly spaced ``x1_values``, ``x2_values``) and LRP's ``epsilon``.

    For two models f, g of 2 inputs (output [N]) it precomputes, at every grid point,
    gradient x input, DeepLIFT-rescale, LRP for each epsilon, and Integrated Gradients
    (midpoint rule, ``ig_steps`` steps), all relative to ``baseline``
    (:func:`iglib.checks.grids.invariance_grid`). ``draw`` returns
    {"x", "epsilon", "delta": F(x) - F(x') of f, "f": {attribution method: (a1, a2)}, "g": {...}}.
    """
    grid = invariance_grid(f, g, x1_values, x2_values, epsilons, baseline, ig_steps)
    v1, v2, (d1, d2) = grid.x1, grid.x2, grid.steps
    everything = np.concatenate(
        [np.ravel(a) for t in grid.attributions.values() for m in t.values()
         for a in (m.values() if isinstance(m, dict) else [m])]
    )
    limit = 1.1 * float(np.abs(everything).max())

    def draw(x1: float, x2: float, epsilon: float) -> dict:
        shown = grid.at(x1, x2, epsilon)
        fig, axes = plt.subplots(1, len(METHODS), figsize=(13, 3.6), sharey=True)
        for ax, m in zip(axes, METHODS):
            a_f, a_g = np.array(shown["f"][m]), np.array(shown["g"][m])
            for k, (name, a) in enumerate((("f", a_f), ("g", a_g))):
                bars = ax.bar(np.arange(2) + (k - 0.5) * 0.38, a, width=0.38, color=QUALITATIVE[k],
                              label=f"{name}: sum {a.sum():.4g}")
                ax.bar_label(bars, [f"{v:.4g}" for v in a], fontsize=7, padding=1)  # the values, not just the heights
            ax.axhline(0, color="black", lw=0.6)
            ax.set_xticks([0, 1], ["$x_1$", "$x_2$"])
            ax.set_ylim(-limit, limit)
            gap = a_f - a_g
            differs = "f = g" if np.allclose(a_f, a_g, atol=1e-9) else f"f - g = ({gap[0] + 0.0:.2g}, {gap[1] + 0.0:.2g})"
            ax.set_title(TITLES[m] + (f", $\\epsilon$ = {epsilon:g}" if m == "lrp" else "") + "\n" + differs, fontsize=10)
            ax.legend(fontsize=8, loc="lower left")
        axes[0].set_ylabel("attribution $a_i$")
        fig.suptitle(
            f"x = ({shown['x'][0]:.2f}, {shown['x'][1]:.2f}), x' = ({baseline[0]:g}, {baseline[1]:g}): "
            f"F(x) - F(x') = {shown['delta']:.3g} for f and g"
        )
        fig.tight_layout()
        return shown

    sliders = {
        "x1": widgets.FloatSlider(value=x[0], min=v1[0], max=v1[-1], step=d1, description="x1"),
        "x2": widgets.FloatSlider(value=x[1], min=v2[0], max=v2[-1], step=d2, description="x2"),
        "epsilon": widgets.SelectionSlider(
            options=[(f"{e:g}", e) for e in epsilons], value=0.01 if 0.01 in epsilons else epsilons[0],
            description="LRP eps",
        ),
    }
    return slider_figure(draw, **sliders)
