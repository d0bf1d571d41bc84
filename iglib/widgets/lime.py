"""A kernel-width slider for tabular LIME: the known weakness, made visible (notebook 11).

LIME weights each sample z by pi(z) = exp(-d(x, z)^2 / sigma^2), and nothing in LIME says which
width sigma is right. :func:`iglib.checks.evaluation.kernel_width_sweep` computes LIME once per width
on the same samples (the same seed), next to a reference such as IG; moving the slider only indexes
that :class:`~iglib.checks.evaluation.WidthSweep`.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..checks.evaluation import WidthSweep, top_k
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure


def plot_bars(ax: plt.Axes, sweep: WidthSweep, width: float, n_shown: int = 12) -> dict:
    """LIME's attributions at ``width`` beside the reference, for the ``n_shown`` features the reference
    ranks highest (a fixed order, so a slider move shows what changes). Returns the numbers shown."""
    shown = sweep.at(width)
    k = sweep.index(width)
    order = top_k(sweep.reference, min(n_shown, len(sweep.reference)))[::-1]
    pos = np.arange(len(order))
    ax.barh(pos + 0.2, sweep.reference[order], height=0.4, color=QUALITATIVE[0], label=sweep.reference_name)
    ax.barh(pos - 0.2, sweep.attributions[k, order], height=0.4, color=QUALITATIVE[1], label="LIME")
    ax.set_yticks(pos, [sweep.feature_names[i] for i in order], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(r"attribution $a_i$ (LIME: $w_i(x_i - x'_i)$)")
    ax.set_title(f"kernel width {shown['kernel width']:.3g}: sum LIME {shown['sum of attributions']:.3g}, "
                 f"F(x) - F(x') {sweep.delta_f:.3g}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return shown


def plot_curve(ax: plt.Axes, sweep: WidthSweep, marked: Sequence[float] = ()) -> None:
    """Rank correlation with the reference and effective samples against the kernel width; dashed
    lines at the ``marked`` widths."""
    ax.semilogx(sweep.widths, sweep.rank_correlations(), "o-", color=QUALITATIVE[1],
                label=f"rank correlation with {sweep.reference_name}")
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel(r"kernel width $\sigma$")
    ax.grid(alpha=0.3)
    for width in marked:
        ax.axvline(sweep.widths[sweep.index(width)], color="gray", ls="--", lw=1)
    twin = ax.twinx()
    twin.loglog(sweep.widths, sweep.effective_samples, "s:", color=QUALITATIVE[2], ms=4)
    twin.set_ylabel("effective samples (green)", color=QUALITATIVE[2])
    ax.set_title("agreement with " + sweep.reference_name + " and samples used, by width", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")


def kernel_width_widget(sweep: WidthSweep, width: float | None = None, n_shown: int = 12) -> SliderFigure:
    """A kernel-width slider over a precomputed :class:`WidthSweep` (start: ``width``, default the middle).

    ``last`` holds the width, LIME's top features, how many of them the reference shares, the
    rank correlation with the reference, the sum of LIME's attributions against F(x) - F(x'),
    the fit's weighted R^2 and its effective samples.
    """
    options = [(f"{w:.3g}", float(w)) for w in sweep.widths]
    start = float(sweep.widths[len(sweep.widths) // 2 if width is None else sweep.index(width)])

    def draw(kernel_width: float) -> dict:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.3, 1]})
        shown = plot_bars(axes[0], sweep, kernel_width, n_shown)
        plot_curve(axes[1], sweep, [kernel_width])
        fig.tight_layout()
        return shown

    slider = widgets.SelectionSlider(options=options, value=start, description="kernel width", continuous_update=False)
    return slider_figure(draw, kernel_width=slider)
