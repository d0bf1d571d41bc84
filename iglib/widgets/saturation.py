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

Each factory computes everything on a grid once; ``draw`` only indexes the arrays.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from ..arguments import Model, check_count, check_model
from ..forward import prepare
from ..integrated_gradients import integrated_gradients
from ..viz import DIVERGING, QUALITATIVE, SEQUENTIAL
from . import SliderFigure, slider_figure

DEFAULT_GRID = np.linspace(-1.0, 4.0, 51)  # x1 and x2 from -1 to 4 in steps of 0.1
AttributionMethod = Callable[..., Tensor]  # attribute(model, inputs, baselines) -> attributions like inputs


def _dtype(model: Model) -> torch.dtype:
    """The model's parameter dtype (float64 for the toys), float64 for a parameter-free callable."""
    param = next(model.parameters(), None) if isinstance(model, torch.nn.Module) else None
    return param.dtype if param is not None and param.is_floating_point() else torch.float64


def _nearest(grid: np.ndarray, value: float) -> int:
    """Index of the grid point closest to a slider value."""
    return int(np.abs(grid - value).argmin())


def _scalar(value: float | Tensor, name: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be one number (a 1-D toy's input), got a tensor of shape {tuple(value.shape)}")
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


# ---------------------------------------------------------------- one input: the saturation path
@dataclass
class SaturationPath:
    """F, dF/dx and the running IG integral at ``alphas`` along gamma(alpha) = x' + alpha (x - x')."""

    x: float
    baseline: float
    alphas: np.ndarray  # [G] in [0, 1]
    points: np.ndarray  # gamma(alpha), [G]
    F: np.ndarray  # F(gamma(alpha)), [G]
    gradient: np.ndarray  # dF/dx at gamma(alpha), [G]
    ig: np.ndarray  # (x - x') * integral_0^alpha dF/dx(gamma(s)) ds, [G]
    n_steps: int
    method: str

    def at(self, alpha: float) -> dict:
        """The numbers at the grid alpha nearest to ``alpha``."""
        k = _nearest(self.alphas, alpha)
        return {
            "alpha": float(self.alphas[k]),
            "point": float(self.points[k]),
            "F": float(self.F[k]),
            "dF/dx": float(self.gradient[k]),
            "IG": float(self.ig[k]),
            "F - F(x')": float(self.F[k] - self.F[0]),
        }


def saturation_path(
    model: Model,
    x: float | Tensor,
    baseline: float | Tensor = 0.0,
    n_steps: int = 300,
    method: str = "riemann_middle",
    grid: int = 101,
) -> SaturationPath:
    """Evaluate a one-input ``model`` (batch [N, 1] -> scores [N]) on ``grid`` alphas of the path.

    The running integral at alpha is ``integrated_gradients`` of the point gamma(alpha)
    relative to x' with ``n_steps`` nodes of ``method``: one batched call for all alphas.
    """
    x, baseline = _scalar(x, "x"), _scalar(baseline, "baseline")
    n_steps, grid = check_count(n_steps, "n_steps"), check_count(grid, "grid")
    if grid < 2:
        raise ValueError(f"grid must be >= 2 (alpha = 0 and alpha = 1), got {grid}")
    dtype = _dtype(model)
    alphas = np.linspace(0.0, 1.0, grid)
    points = torch.tensor(baseline + alphas * (x - baseline), dtype=dtype).reshape(grid, 1)
    score, points, _ = prepare(model, points)
    gradient, F = (t[0] for t in score.gradients(points[None]))
    ig = integrated_gradients(model, points, baseline, n_steps=n_steps, method=method)
    return SaturationPath(
        x=x,
        baseline=baseline,
        alphas=alphas,
        points=points[:, 0].numpy(),
        F=F.detach().numpy(),
        gradient=gradient[:, 0].numpy(),
        ig=ig[:, 0].numpy(),
        n_steps=n_steps,
        method=method,
    )


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
        k = _nearest(a, alpha)
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
@dataclass
class TwoInputGrid:
    """F and each attribution method's attributions on the grid x1 x x2 (relative to one baseline x')."""

    x1: np.ndarray  # [A]
    x2: np.ndarray  # [B]
    F: np.ndarray  # [A, B]
    baseline: np.ndarray  # [2]
    F_baseline: float
    attributions: dict[str, np.ndarray]  # name -> [A, B, 2]

    def at(self, x1: float, x2: float) -> dict:
        """The numbers at the grid point nearest to (x1, x2)."""
        i, j = _nearest(self.x1, x1), _nearest(self.x2, x2)
        return {
            "x1": float(self.x1[i]),
            "x2": float(self.x2[j]),
            "F": float(self.F[i, j]),
            "F - F(x')": float(self.F[i, j] - self.F_baseline),
            "attributions": {name: (float(a[i, j, 0]), float(a[i, j, 1])) for name, a in self.attributions.items()},
        }


def default_attribution_methods(n_steps: int = 64, method: str = "riemann_middle") -> dict[str, AttributionMethod]:
    """Gradient, DeConvNet, Guided Backprop and IG (``n_steps`` nodes of the quadrature rule
    ``method``), by display name."""
    from ..methods import deconvnet, gradient, guided_backprop

    def ig(model: Model, inputs: Tensor, baselines: Tensor) -> Tensor:
        return integrated_gradients(model, inputs, baselines, n_steps=n_steps, method=method)

    return {"Gradient": gradient, "DeConvNet": deconvnet, "Guided Backprop": guided_backprop, "IG": ig}


def two_input_grid(
    model: Model,
    x1: Sequence[float] | None = None,
    x2: Sequence[float] | None = None,
    attribution_methods: Mapping[str, AttributionMethod] | None = None,
    baseline: Sequence[float] = (0.0, 0.0),
) -> TwoInputGrid:
    """Evaluate a two-input ``model`` (batch [N, 2] -> scores [N]) and every attribution method on the grid.

    ``x1``, ``x2``: grid values (default -1 to 4 in steps of 0.1); ``attribution_methods`` maps a
    display name to ``attribute(model, inputs, baselines)``, default
    :func:`default_attribution_methods`. Each is called once on the whole grid as one batch.
    """
    x1 = np.asarray(DEFAULT_GRID if x1 is None else x1, dtype=np.float64)
    x2 = np.asarray(DEFAULT_GRID if x2 is None else x2, dtype=np.float64)
    if x1.ndim != 1 or x2.ndim != 1 or len(x1) < 2 or len(x2) < 2:
        raise ValueError(f"x1 and x2 must be 1-D grids of at least 2 values, got shapes {x1.shape} and {x2.shape}")
    attribution_methods = default_attribution_methods() if attribution_methods is None else dict(attribution_methods)
    dtype = _dtype(model)
    points = torch.cartesian_prod(torch.tensor(x1, dtype=dtype), torch.tensor(x2, dtype=dtype))
    base = torch.tensor(baseline, dtype=dtype)
    if base.shape != (2,):
        raise ValueError(f"baseline must be 2 numbers (x1', x2'), got shape {tuple(base.shape)}")
    check_model(model, points)
    with torch.no_grad():
        F = model(points).reshape(len(x1), len(x2))
        F_baseline = float(model(base.reshape(1, 2)).reshape(()))
    attributions = {
        name: attribute(model, points, base.expand_as(points)).detach().reshape(len(x1), len(x2), 2).numpy()
        for name, attribute in attribution_methods.items()
    }
    return TwoInputGrid(x1, x2, F.numpy(), base.numpy(), F_baseline, attributions)


def plot_two_input(axes: Sequence[Axes], grid: TwoInputGrid, x1: float, x2: float) -> dict:
    """Three panels: F over (x1, x2); the slice F(x1, .) with each attribution method's x2 attribution; the bars at x.

    Returns the numbers at the grid point nearest to (x1, x2).
    """
    shown = grid.at(x1, x2)
    i = _nearest(grid.x1, x1)
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

    def slider(values: np.ndarray, value: float, name: str) -> widgets.FloatSlider:
        return widgets.FloatSlider(
            value=float(values[_nearest(values, value)]), min=float(values.min()), max=float(values.max()),
            step=float(np.diff(values).min()), description=name, readout_format=".2f", continuous_update=False,
        )

    return slider_figure(draw, x1=slider(grid.x1, start[0], "x1"), x2=slider(grid.x2, start[1], "x2"))
