"""Widgets for path methods (ig-reference.md section 5): bend the path, watch the attributions.

A path gamma from x' to x gives

    PathIG_i(x) = integral_0^1 dF(gamma(alpha))/d gamma_i * d gamma_i(alpha)/d alpha  d alpha,

and every path gives sum_i PathIG_i = F(x) - F(x') (completeness). Two pictures:

- ``path_bend_widget``: F's contours in the plane of two features, the straight line (IG)
  and ``toys.bent_path`` with a bend slider; bars show how the attributions move with the
  bend while their sum stays F(x) - F(x').
- ``symmetry_widget``: the uniqueness proof. A bend slider and a window slider shape a
  ``detour_path`` from (0, 0) to (1, 1); ``toys.symmetry_witness`` finds t0, the interval
  (t1, t2), a and b and the proof's symmetric f, on which the path gives x_j strictly more
  than x_i while the straight line gives them the same.

Each factory computes everything once on its grid of slider values, with
:func:`iglib.paths.bend_sweep` and :func:`iglib.paths.symmetry_cases`; ``draw`` only indexes
the precomputed arrays (and draws).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from ..arguments import Model, TargetLike
from ..paths import Contours, SymmetryCase, bend_sweep, contour_grid, symmetry_cases
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure

BENDS = tuple(np.round(np.linspace(-0.6, 0.6, 25), 2).tolist())  # steps of 0.05


# ---------------------------------------------------------------- drawing
def draw_contours(ax: Axes, contours: Contours, levels: int = 12) -> None:
    """F's filled contours, ``levels`` bands from F's minimum to its maximum."""
    lo, hi = float(contours.F.min()), float(contours.F.max())
    bounds = np.linspace(lo, hi + 1e-9 * max(hi - lo, 1.0), levels + 1)  # the top bin includes F's maximum
    ax.contourf(contours.x1, contours.x2, contours.F, levels=bounds, cmap="Blues", alpha=0.8)
    ax.contour(contours.x1, contours.x2, contours.F, levels=bounds[1:-1], colors="white", linewidths=0.5)


def draw_paths(ax: Axes, contours: Contours, curves: Mapping[str, np.ndarray], levels: int = 12) -> Axes:
    """F's filled contours with each path drawn as a line from x' (circle) to x (star)."""
    draw_contours(ax, contours, levels)
    styles = [("tab:orange", "-"), ("black", "--"), ("tab:red", "-"), ("tab:green", "-.")]
    for (label, curve), (colour, style) in zip(curves.items(), styles * len(curves)):
        ax.plot(curve[:, 0], curve[:, 1], style, color=colour, lw=2.2, label=label)
    first = next(iter(curves.values()))
    ax.plot(*first[0], "o", color="black", ms=7)
    ax.plot(*first[-1], "*", color="black", ms=12)
    ax.annotate("x'", first[0], textcoords="offset points", xytext=(7, -3))
    ax.annotate("x", first[-1], textcoords="offset points", xytext=(-14, 2))
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    return ax


def _bars(ax: Axes, groups: Mapping[str, Sequence[float]], names: Sequence[str], total: float | None = None) -> None:
    """Grouped bars: one group per feature, one bar per entry of ``groups``."""
    width = 0.8 / len(groups)
    colours = ["tab:orange", "lightgray", "tab:red", "tab:green"]
    for k, (label, values) in enumerate(groups.items()):
        xs = np.arange(len(names)) + (k - (len(groups) - 1) / 2) * width
        ax.bar(xs, values, width, label=label, color=colours[k % len(colours)], edgecolor="black")
        for xpos, v in zip(xs, values):
            ax.text(xpos, v, f"{v:.3f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.axhline(0, color="black", lw=0.8)
    if total is not None:
        ax.set_title(f"attributions (each path sums to F(x) - F(x') = {total:.4g})", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.margins(y=0.2)


# ---------------------------------------------------------------- 06: bend the path
def _start(options: Sequence[float], value: float) -> float:
    """The option nearest ``value``: where a slider starts."""
    return options[int(np.abs(np.asarray(options) - value).argmin())]


def path_bend_widget(
    model: Model,
    inputs: Tensor,
    baselines: Any = None,
    target: TargetLike = None,
    bends: Sequence[float] = BENDS,
    n_steps: int = 64,
    grid: int = 81,
    bend: float = 0.3,
) -> SliderFigure:
    """A bend slider over ``toys.bent_path(x', x, bend)``: the path over F's contours and its attributions.

    For every bend on the grid the path attributions (``path_integrated_gradients``, m =
    ``n_steps`` Gauss-Legendre nodes) are computed once, with IG (bend 0, the straight line)
    for comparison. ``last`` holds ``bend``, ``attributions`` (x1, x2), their ``sum``,
    ``difference`` = F(x) - F(x') and ``straight`` (IG's attributions).
    """
    sweep = bend_sweep(model, inputs, bends, baselines, target, n_steps, grid)
    options, curves = sweep.bends, sweep.curves

    def draw(bend: float) -> dict:
        a = sweep.attributions[bend]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
        draw_paths(left, sweep.contours, {f"bent path, bend = {bend:g}": curves[bend], "straight line (IG)": sweep.line})
        left.set_title("the path over F's contours", fontsize=10)
        _bars(right, {f"bend = {bend:g}": a, "straight line": sweep.straight}, ["$x_1$", "$x_2$"], sweep.difference)
        fig.tight_layout()
        return sweep.at(bend)

    slider = widgets.SelectionSlider(options=options, value=_start(options, bend), description="bend")
    return slider_figure(draw, bend=slider)


# ---------------------------------------------------------------- 07: the symmetry proof
def draw_symmetry(case: SymmetryCase) -> Figure:
    """Three panels: the path over f's contours with (t1, t2) highlighted and a, b marked;
    gamma_i and gamma_j against alpha; the attributions of x_i and x_j on f."""
    w, curve = case.witness, case.path
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1.05, 1.1, 0.9]})
    contours = contour_grid(w.f, (-0.05, -0.05), (1.05, 1.05), 85)  # a margin around the box [0, 1]^2
    alphas = np.linspace(0, 1, len(curve))
    inside = (alphas >= w.t1) & (alphas <= w.t2)
    path_colour, window_colour = QUALITATIVE[1], QUALITATIVE[5]
    # The straight line first, as a wide grey band; the path on top of it, thinner, so it stays visible
    # where it follows the diagonal.
    draw_contours(left, contours, levels=10)
    left.plot([0.0, 1.0], [0.0, 1.0], color="0.55", lw=6, alpha=0.8, solid_capstyle="butt", zorder=2,
              label="straight line (IG)")
    left.plot(curve[:, 0], curve[:, 1], color=path_colour, lw=2, zorder=3, label="path")
    left.plot(curve[inside, 0], curve[inside, 1], color=window_colour, lw=4, zorder=4,
              label=f"$(t_1, t_2)$ where $\\gamma_{w.i + 1} > \\gamma_{w.j + 1}$")
    left.plot([w.a, w.b], [w.a, w.b], "s", color=window_colour, ms=6, zorder=5)
    left.plot(0.0, 0.0, "o", color="black", ms=7, zorder=5)
    left.plot(1.0, 1.0, "*", color="black", ms=12, zorder=5)
    left.annotate("x'", (0.0, 0.0), textcoords="offset points", xytext=(-12, 6) if w.i == 0 else (8, -9))
    left.annotate("x", (1.0, 1.0), textcoords="offset points", xytext=(-14, 2))
    # (a, a) and (b, b) are labelled on the side of the diagonal the path does not use (it bends towards
    # gamma_i > gamma_j on (t1, t2)), with an arrow, clear of x' and x.
    def side(dx: float, dy: float) -> tuple[float, float]:
        return (dx, dy) if w.i == 0 else (dy, dx)  # i = 0: the path is below the diagonal, labels above it
    a_offset = ((0.03, 0.17) if w.i == 0 else (0.08, 0.2)) if w.a < 0.3 else (-0.3, 0.0)
    for name, point, offset, align in (("(a, a)", w.a, a_offset, "left"), ("(b, b)", w.b, (-0.27, -0.03), "left")):
        ox, oy = side(*offset)
        left.annotate(name, (point, point), xytext=(point + ox, point + oy), fontsize=9, va="center",
                      ha=align if w.i == 0 or name == "(a, a)" else "right",
                      arrowprops={"arrowstyle": "-", "color": "black", "lw": 0.6, "shrinkB": 4})
    t0 = int(np.abs(alphas - w.t0).argmin())
    left.plot(*curve[t0], "D", color=window_colour, ms=6, zorder=5)
    left.annotate("$\\gamma(t_0)$", curve[t0], textcoords="offset points", xytext=(6, -4), fontsize=9)
    left.set_xlabel("$x_1$")
    left.set_ylabel("$x_2$")
    left.set_aspect("equal")
    left.legend(loc="upper left" if w.i == 0 else "lower right", fontsize=8, framealpha=0.9)  # away from the path
    left.set_title(f"the path over f's contours (a = {w.a:.3g}, b = {w.b:.3g})", fontsize=10)

    middle.plot(alphas, curve[:, w.i], color=QUALITATIVE[1], lw=2, label=f"$\\gamma_{w.i + 1}$ (x_i)")
    middle.plot(alphas, curve[:, w.j], color=QUALITATIVE[0], lw=2, ls="--", label=f"$\\gamma_{w.j + 1}$ (x_j)")
    middle.axvspan(w.t1, w.t2, color=QUALITATIVE[5], alpha=0.12, label="$(t_1, t_2)$")
    middle.axvline(w.t0, color=QUALITATIVE[5], ls=":", label="$t_0$")
    middle.axhline(w.a, color="gray", lw=0.8, ls="--")
    middle.axhline(w.b, color="gray", lw=0.8, ls="--")
    middle.set_xlabel("$\\alpha$")
    middle.set_title("the coordinates along the path", fontsize=10)
    middle.legend(fontsize=8, loc="upper left")

    names = [f"$x_{w.i + 1}$ (x_i)", f"$x_{w.j + 1}$ (x_j)"]
    _bars(right, {"path": case.attributions, "straight line": case.straight}, names)
    right.set_title(f"attributions on f (sum (b - a)$^2$ = {(w.b - w.a) ** 2:.3g})", fontsize=10)
    fig.tight_layout()
    return fig


def symmetry_widget(
    bends: Sequence[float] = (-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6),
    window: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    n_steps: int = 64,
    bend: float = 0.4,
    start: float = 0.25,
    stop: float = 0.75,
) -> SliderFigure:
    """Sliders for the bend and the window [start, stop] of ``detour_path`` from (0, 0) to (1, 1).

    For every (bend, start < stop) on the grids the proof runs once (:func:`iglib.paths.symmetry_cases`).
    ``last`` holds ``bend``, ``window``, and either ``witness`` = None (bend 0 or an empty
    window: the straight line, no witness exists) or the witness's t0, t1, t2, a, b, i, j
    with ``path`` = (x_i's, x_j's attribution on f) and ``straight`` = IG's.
    """
    cases = symmetry_cases(bends, window, n_steps)
    bend_options, ends = [float(b) for b in bends], [float(v) for v in window]  # checked by symmetry_cases

    def draw(bend: float, window: tuple[float, float]) -> dict:
        s, e = window
        case = cases.get((bend, s, e))
        if case is None:
            fig, ax = plt.subplots(figsize=(6, 1.2))
            ax.axis("off")
            ax.text(0.5, 0.5, "bend 0 or an empty window: this is the straight line,\n"
                    "gamma_1 = gamma_2 everywhere, so no symmetric f can tell x_1 from x_2",
                    ha="center", va="center", fontsize=10)
            return {"bend": bend, "window": (s, e), "witness": None}
        draw_symmetry(case)
        w = case.witness
        return {
            "bend": bend, "window": (s, e), "witness": w,
            "t0": w.t0, "t1": w.t1, "t2": w.t2, "a": w.a, "b": w.b, "i": w.i, "j": w.j,
            "path": case.attributions, "straight": case.straight,
        }

    bend_slider = widgets.SelectionSlider(options=bend_options, value=_start(bend_options, bend), description="bend")
    window_slider = widgets.SelectionRangeSlider(
        options=ends, value=(_start(ends, start), _start(ends, stop)), description="window"
    )
    return slider_figure(draw, bend=bend_slider, window=window_slider)
