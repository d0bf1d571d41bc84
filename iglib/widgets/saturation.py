"""Widgets for saturation: where gradients see nothing and Integrated Gradients sees everything.

Two pictures from the paper's section 2 (ig-reference.md section 3):

- One input, F saturates: F(x) = 1 - ReLU(1 - x) from x' = 0 to x = 2, or F(x) = min(x, 5)
  from x' = 0 to x = 8. Along the path gamma(alpha) = x' + alpha (x - x') an alpha slider
  shows F(gamma(alpha)), the gradient dF/dx there (0 once F is flat) and the running IG
  integral

      IG(alpha) = (x - x') * integral_0^alpha dF/dx(gamma(s)) ds,

  which is IG of the point gamma(alpha) relative to x' (change of variables) and so equals
  F(gamma(alpha)) - F(x') (completeness) all along the path.
- Two inputs, F(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)): x1 and x2 sliders show F falling
  in x2 while DeConvNet and Guided Backprop give x2 zero attribution.

The numbers come from :func:`iglib.interior.saturation_path` and
:func:`iglib.checks.grids.two_input_grid`, computed once on a grid; ``draw`` only indexes them.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from torch import Tensor

from ..arguments import Model
from ..checks.grids import AttributionMethod, TwoInputGrid, two_input_grid
from ..interior import SaturationPath, saturation_path
from ..viz import DIVERGING, QUALITATIVE, SEQUENTIAL
from . import SliderFigure, slider_figure


# ---------------------------------------------------------------- one input: the saturation path
def plot_saturation(axes: Sequence[Axes], path: SaturationPath, alpha: float | None = None, name: str = "F") -> None:
    """Three panels: F(gamma(alpha)), dF/dx(gamma(alpha)) and the running IG integral, against alpha.

    With ``alpha``, a vertical line marks it and the area under dF/dx up to alpha is shaded
    (that area times x - x' is the running integral).
    """
    a = path.alphas
    ax_f, ax_g, ax_ig = axes
    ax_f.plot(a, path.F, color="black")
    ax_f.set_title(f"{name} along the path")
    ax_f.set_ylabel(r"$F(x' + \alpha(x - x'))$")
    ax_g.plot(a, path.gradient, color=QUALITATIVE[5])
    ax_g.set_title(r"gradient $\partial F/\partial x$ (0 at the input)")
    ax_g.set_ylim(min(-0.1, path.gradient.min() - 0.1), max(1.1, path.gradient.max() + 0.1))
    ax_ig.plot(a, path.F - path.F[0], color="black", lw=6, alpha=0.25, label=r"$F(\gamma(\alpha)) - F(x')$")
    ax_ig.plot(a, path.ig, color=QUALITATIVE[0], label=r"$(x - x')\int_0^\alpha \partial F/\partial x\, d\alpha$")
    ax_ig.set_title(f"running IG integral (ends at {path.ig[-1]:.4g})")
    ax_ig.legend(loc="lower right", fontsize=8)
    for ax in axes:
        ax.set_xlabel(r"$\alpha$")
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
    if alpha is not None:
        k = path.index(alpha)
        ax_g.fill_between(a[: k + 1], path.gradient[: k + 1], color=QUALITATIVE[5], alpha=0.2)
        for ax, y in ((ax_f, path.F), (ax_g, path.gradient), (ax_ig, path.ig)):
            ax.axvline(a[k], color="gray", lw=1, ls="--")
            ax.plot([a[k]], [y[k]], "o", color="black")


def saturation_widget(
    model: Model,
    x: float | Tensor,
    baseline: float | Tensor = 0.0,
    n_steps: int = 300,
    method: str = "riemann_middle",
    grid: int = 101,
    name: str = "F",
) -> SliderFigure:
    """An alpha slider along x' -> x showing F, dF/dx and the running IG integral.

    ``last`` holds alpha, the point gamma(alpha), F, dF/dx, IG and F - F(x') at the slider.
    """
    path = saturation_path(model, x, baseline, n_steps, method, grid)

    def draw(alpha: float) -> dict:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        plot_saturation(axes, path, alpha, name)
        shown = path.at(alpha)
        fig.suptitle(
            f"$\\alpha$ = {shown['alpha']:.2f}, $\\gamma(\\alpha)$ = {shown['point']:.3g}: F = {shown['F']:.4g}, "
            f"dF/dx = {shown['dF/dx']:.4g}, IG = {shown['IG']:.4g}",
            y=1.04,
        )
        return shown

    slider = widgets.FloatSlider(
        value=1.0, min=0.0, max=1.0, step=1.0 / (grid - 1), description="alpha", readout_format=".2f",
        continuous_update=False,
    )
    return slider_figure(draw, alpha=slider)


# ---------------------------------------------------------------- two inputs: DeConvNet and GBP blind to x2
def plot_two_input(axes: Sequence[Axes], grid: TwoInputGrid, x1: float, x2: float) -> dict:
    """Three panels: F over (x1, x2); the slice F(x1, .) with each attribution method's x2 attribution; the bars at x.

    Returns the numbers at the grid point nearest to (x1, x2).
    """
    shown = grid.at(x1, x2)
    i, _ = grid.index(x1, x2)
    ax_map, ax_slice, ax_bars = axes
    X1, X2 = np.meshgrid(grid.x1, grid.x2, indexing="ij")
    filled = ax_map.contourf(X1, X2, grid.F, levels=12, cmap=SEQUENTIAL)  # F >= 0: a magnitude
    ax_map.contour(X1, X2, grid.F, levels=filled.levels[1:], colors="white", linewidths=0.3)
    ax_map.figure.colorbar(filled, ax=ax_map, label="$F(x_1, x_2)$", fraction=0.046, pad=0.03)
    ax_map.axvline(shown["x1"], color="white", lw=1.5, ls="--", label=f"slice $x_1$ = {shown['x1']:.2f}")
    ax_map.plot(*grid.baseline, "X", color="white", mec="black", ms=10, label="baseline x'")
    ax_map.plot([shown["x1"]], [shown["x2"]], "o", color=QUALITATIVE[5], mec="white", ms=8, label="input x")
    ax_map.set_xlabel("$x_1$")
    ax_map.set_ylabel("$x_2$")
    ax_map.set_title(r"$F = \mathrm{ReLU}(\mathrm{ReLU}(x_1) - 1 - \mathrm{ReLU}(x_2))$", fontsize=10)
    ax_map.legend(loc="upper left", fontsize=8, framealpha=0.9)

    # The attributions on the left axis, F on its own axis (right): different quantities, different scales.
    # Methods whose a_2 is the same along the whole slice are drawn once, as one line with all their names.
    curves: dict[str, list[str]] = {}
    for name, a in grid.attributions.items():
        same = next((k for k in curves if np.array_equal(grid.attributions[k][i, :, 1], a[i, :, 1])), None)
        curves.setdefault(same or name, []).append(name)
    styles = ("-", "--", "-.", ":")
    colours = {name: QUALITATIVE[k % len(QUALITATIVE)] for k, name in enumerate(grid.attributions)}
    for k, (first, group) in enumerate(curves.items()):
        ax_slice.plot(grid.x2, grid.attributions[first][i, :, 1], ls=styles[k % 4], lw=2.2, color=colours[first],
                      label=" = ".join(group) + ": $a_2$")
    ax_slice.axhline(0, color="black", lw=0.6)
    ax_slice.axvline(shown["x2"], color="gray", lw=1, ls="--")
    ax_slice.set_xlabel("$x_2$")
    ax_slice.set_ylabel("attribution to $x_2$, $a_2$")
    ax_slice.grid(alpha=0.3)
    twin = ax_slice.twinx()
    twin.plot(grid.x2, grid.F[i], color="black", lw=3, alpha=0.35, label="$F(x_1, x_2)$ (right axis)")
    twin.set_ylabel("$F(x_1, x_2)$ (grey)", color="dimgray")
    F_lo, F_hi = min(0.0, float(grid.F[i].min())), max(float(grid.F[i].max()), 1e-9)
    twin.set_ylim(F_lo - 0.05 * (F_hi - F_lo), F_hi + 0.15 * (F_hi - F_lo))
    a_lo = min(0.0, min(float(a[i, :, 1].min()) for a in grid.attributions.values()))
    a_hi = max(0.0, max(float(a[i, :, 1].max()) for a in grid.attributions.values()))
    span = max(a_hi - a_lo, 1e-9)
    ax_slice.set_ylim(a_lo - 0.1 * span, a_hi + 0.7 * span)   # F's plateau and the zero line a_2 = 0 do not meet
    ax_slice.set_title(f"slice $x_1$ = {shown['x1']:.2f}: F (grey, right axis) and $a_2$ (left axis)", fontsize=10)
    handles = [h for a in (ax_slice, twin) for h in a.get_legend_handles_labels()[0]]
    ax_slice.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper right", framealpha=0.9)

    names = list(grid.attributions)
    positions = np.arange(len(names))
    cmap = plt.get_cmap(DIVERGING)
    for offset, feature, hatch in ((-0.2, 0, None), (0.2, 1, "//")):
        values = np.array([shown["attributions"][n][feature] for n in names])
        colours_by_sign = [cmap(0.85) if v > 0 else cmap(0.15) if v < 0 else "white" for v in values]
        bars = ax_bars.bar(positions + offset, values, width=0.4, color=colours_by_sign, edgecolor="black",
                           hatch=hatch, label=f"$a_{feature + 1}$ ($x_{feature + 1}$)")
        ax_bars.bar_label(bars, fmt="%.3g", fontsize=7)
    ax_bars.axhline(0, color="black", lw=0.8)
    ax_bars.set_xticks(positions, names, fontsize=8)
    ax_bars.set_ylabel("attribution (red > 0, blue < 0)")
    ax_bars.margins(y=0.15)
    change = shown["F - F(x')"]
    ax_bars.set_title(f"x = ({shown['x1']:.2f}, {shown['x2']:.2f}):  F(x) - F(x') = {change:.3g}", fontsize=10)
    legend = ax_bars.legend(fontsize=8)
    for patch in legend.get_patches():
        patch.set_facecolor("white")   # the legend tells the features apart by hatch; colour is the sign
    return shown


def two_input_widget(
    model: Model,
    x1: Sequence[float] | None = None,
    x2: Sequence[float] | None = None,
    attribution_methods: Mapping[str, AttributionMethod] | None = None,
    baseline: Sequence[float] = (0.0, 0.0),
    start: tuple[float, float] = (3.0, 1.0),
) -> SliderFigure:
    """x1 and x2 sliders over the grid: F, the slice F(x1, .) and every attribution method's attributions.

    ``last`` holds x1, x2, F, F - F(x') and ``attributions`` {name: (a1, a2)} at the sliders.
    """
    grid = two_input_grid(model, x1, x2, attribution_methods, baseline)

    def draw(x1: float, x2: float) -> dict:
        fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.2))
        shown = plot_two_input(axes, grid, x1, x2)
        fig.tight_layout()
        return shown

    def slider(values: np.ndarray, k: int, name: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(
            value=float(values[k]), min=float(values.min()), max=float(values.max()),
            step=float(np.diff(values).min()), description=name, readout_format=".2f", continuous_update=False,
        )

    i, j = grid.index(*start)
    return slider_figure(draw, x1=slider(grid.x1, i, "x1"), x2=slider(grid.x2, j, "x2"))
