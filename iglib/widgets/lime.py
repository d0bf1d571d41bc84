"""A kernel-width slider for tabular LIME: the known weakness, made visible (notebook 11).

LIME weights each sample z by pi(z) = exp(-d(x, z)^2 / sigma^2). The width sigma decides which
neighbourhood the local linear model describes, and nothing in LIME says which sigma is right:
too small and the fit sees only x itself (one effective sample), larger and it describes an
ever wider region of the network. The sweep computes LIME once per width on the same samples
(the same seed), so moving the slider only indexes precomputed arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from ..arguments import Model, TargetLike, check_baselines, check_inputs
from ..checks.evaluation import rank_correlation, top_k
from ..forward import prepare
from ..methods.lime import lime_tabular
from ..viz import QUALITATIVE
from . import SliderFigure, slider_figure


@dataclass
class WidthSweep:
    """LIME of one example at each kernel width: ``attributions`` [W, n] (w_i (x_i - x'_i)), the fit's
    weighted R^2 ``scores`` [W] and ``effective_samples`` [W], and the ``reference`` explanation
    (e.g. IG) it is compared with."""

    widths: np.ndarray  # [W]
    attributions: np.ndarray  # [W, n]
    scores: np.ndarray  # [W]
    effective_samples: np.ndarray  # [W]
    reference: np.ndarray  # [n]
    reference_name: str
    feature_names: list[str]
    delta_f: float  # F(x) - F(x')
    evaluations: int
    top_k: int

    def index(self, width: float) -> int:
        """Index of the precomputed width nearest to ``width`` (on a log scale)."""
        return int(np.abs(np.log(self.widths) - np.log(width)).argmin())

    def at(self, width: float) -> dict:
        """The numbers shown at the precomputed width nearest to ``width``."""
        k = self.index(width)
        a = self.attributions[k]
        top = top_k(a, self.top_k)
        return {
            "kernel width": float(self.widths[k]),
            "top features": [self.feature_names[i] for i in top],
            "top-k shared with " + self.reference_name: len(set(top) & set(top_k(self.reference, self.top_k))) / self.top_k,
            "rank correlation with " + self.reference_name: rank_correlation(np.abs(a), np.abs(self.reference)),
            "sum of attributions": float(a.sum()),
            "F(x) - F(x')": self.delta_f,
            "weighted R2": float(self.scores[k]),
            "effective samples": float(self.effective_samples[k]),
        }


def kernel_width_sweep(
    model: Model,
    inputs: Tensor,
    reference: Tensor,
    widths: Sequence[float],
    baselines: Any = None,
    target: TargetLike = None,
    n_samples: int = 1000,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    reference_name: str = "IG",
    top_k: int = 5,
    **lime_options: Any,
) -> WidthSweep:
    """:func:`iglib.lime.lime_tabular` of one example ``inputs`` [1, n] at every width in ``widths``,
    each on the same ``n_samples`` samples (same ``seed``), next to ``reference`` [1, n] or [n]."""
    x = check_inputs(inputs)
    if len(x) != 1:
        raise ValueError(f"the kernel-width sweep explains one example: inputs must be [1, n], got {tuple(x.shape)}")
    widths = np.asarray(sorted(float(w) for w in widths))
    if widths.size == 0 or not np.all(widths > 0):
        raise ValueError(f"widths must hold at least one kernel width > 0, got {widths.tolist()}")
    n = x[0].numel()
    ref = np.asarray(reference.detach().cpu() if isinstance(reference, Tensor) else reference, dtype=np.float64).reshape(-1)
    if ref.size != n:
        raise ValueError(f"reference must have one value per feature ({n}), got {ref.size}")
    names = [f"x{i + 1}" for i in range(n)] if feature_names is None else [str(s) for s in feature_names]
    if len(names) != n:
        raise ValueError(f"feature_names must name each of the {n} features, got {len(names)}")
    if not 1 <= top_k <= n:
        raise ValueError(f"top_k must be between 1 and the number of features ({n}), got {top_k}")
    x_base = check_baselines(baselines, x)
    rows, scores, n_eff, evaluations = [], [], [], 0
    for width in widths:
        a, fit = lime_tabular(model, x, x_base, target=target, n_samples=n_samples, kernel_width=float(width),
                              seed=seed, return_fit=True, **lime_options)
        rows.append(a.detach().cpu().to(torch.float64).reshape(-1).numpy())
        scores.append(fit.score.item())
        n_eff.append(fit.effective_samples.item())
        evaluations += fit.evaluations
    F, x, x_base = prepare(model, x, x_base, target)
    return WidthSweep(widths, np.stack(rows), np.asarray(scores), np.asarray(n_eff), ref, reference_name, names,
                      float(F.difference(x, x_base)[0]), evaluations, top_k)


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
    rho = [rank_correlation(np.abs(a), np.abs(sweep.reference)) for a in sweep.attributions]
    ax.semilogx(sweep.widths, rho, "o-", color=QUALITATIVE[1], label=f"rank correlation with {sweep.reference_name}")
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
