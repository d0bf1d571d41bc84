"""Implementation invariance: two equivalent networks, four methods, side by side.

Sliders move the input x = (x1, x2) (baseline x' fixed) and LRP's epsilon; the figure shows
each method's attributions for f and for g. f and g compute the same function, so an
implementation-invariant method draws identical bars for both. All attributions are
computed once for the whole grid of inputs; moving a slider only indexes them.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ..forward import prepare
from ..integrated_gradients import integrated_gradients
from ..methods import deeplift, gradient_x_input, lrp
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure

METHODS = ("gradient_x_input", "deeplift", "lrp", "integrated_gradients")
TITLES = {
    "gradient_x_input": "gradient x input",
    "deeplift": "DeepLIFT (rescale)",
    "lrp": "LRP (epsilon)",
    "integrated_gradients": "Integrated Gradients",
}


def _grid(values: Sequence[float]) -> tuple[np.ndarray, float]:
    """The slider values as an array and their (uniform) spacing."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) < 2 or not np.allclose(np.diff(v), v[1] - v[0]):
        raise ValueError(f"slider values must be at least 2 evenly spaced numbers, got {list(values)}")
    return v, float(v[1] - v[0])


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
    (midpoint rule, ``ig_steps`` steps), all relative to ``baseline``. ``draw`` returns
    {"x", "epsilon", "delta": F(x) - F(x') of f, "f": {attribution method: (a1, a2)}, "g": {...}}.
    """
    v1, d1 = _grid(x1_values)
    v2, d2 = _grid(x2_values)
    points = torch.tensor(np.stack(np.meshgrid(v1, v2, indexing="ij"), -1).reshape(-1, 2), dtype=torch.float64)
    base = torch.tensor([baseline], dtype=torch.float64).expand_as(points)
    shape = (len(v1), len(v2), 2)

    def on_grid(t: torch.Tensor) -> np.ndarray:
        return t.detach().reshape(shape).numpy()

    table: dict[str, dict] = {}
    for name, model in (("f", f), ("g", g)):
        table[name] = {
            "gradient_x_input": on_grid(gradient_x_input(model, points, base)),
            "deeplift": on_grid(deeplift(model, points, base)),
            "lrp": {eps: on_grid(lrp(model, points, epsilon=eps)) for eps in epsilons},
            "integrated_gradients": on_grid(
                integrated_gradients(model, points, base, n_steps=ig_steps, method="riemann_middle")
            ),
        }
    F, _, _ = prepare(f, points)
    delta = F.difference(points, base).reshape(shape[:2]).numpy()
    everything = np.concatenate(
        [np.ravel(a) for t in table.values() for m in t.values() for a in (m.values() if isinstance(m, dict) else [m])]
    )
    limit = 1.1 * float(np.abs(everything).max())

    def draw(x1: float, x2: float, epsilon: float) -> dict:
        i, j = int(round((x1 - v1[0]) / d1)), int(round((x2 - v2[0]) / d2))
        shown = {
            name: {m: tuple(float(a) for a in (t[m][epsilon] if m == "lrp" else t[m])[i, j]) for m in METHODS}
            for name, t in table.items()
        }
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
            f"x = ({v1[i]:.2f}, {v2[j]:.2f}), x' = ({baseline[0]:g}, {baseline[1]:g}): "
            f"F(x) - F(x') = {delta[i, j]:.3g} for f and g"
        )
        fig.tight_layout()
        return {"x": (float(v1[i]), float(v2[j])), "epsilon": float(epsilon), "delta": float(delta[i, j]), **shown}

    sliders = {
        "x1": widgets.FloatSlider(value=x[0], min=v1[0], max=v1[-1], step=d1, description="x1"),
        "x2": widgets.FloatSlider(value=x[1], min=v2[0], max=v2[-1], step=d2, description="x2"),
        "epsilon": widgets.SelectionSlider(
            options=[(f"{e:g}", e) for e in epsilons], value=0.01 if 0.01 in epsilons else epsilons[0],
            description="LRP eps",
        ),
    }
    return slider_figure(draw, **sliders)
