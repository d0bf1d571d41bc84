"""Interaction matrices of Integrated Hessians (notebook 14), drawn and explored with a slider.

- :func:`draw_interactions`: one matrix Gamma [D, D] on an axes in :data:`iglib.viz.DIVERGING`,
  centred on zero (red: the pair raises the score together, blue: it lowers it), the features'
  names on both axes; the diagonal (each feature's self-interaction) can be greyed out, so that
  the pairs are read on their own scale;
- :func:`interactions_figure`: several matrices side by side on ONE colour scale with its colourbar;
- :func:`interactions_widget`: a slider over precomputed matrices (one per question), so moving
  it only redraws.
"""
from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from ..variants.integrated_hessians import top_interactions
from ..viz import DIVERGING
from . import SliderFigure, slider_figure

SCALE_LABEL = "Gamma_ij (interaction)"
DIAGONAL_GREY = "0.8"


def _matrix(gamma, names: Sequence[str], what: str = "gamma") -> np.ndarray:
    g = np.asarray(gamma.detach().cpu() if hasattr(gamma, "detach") else gamma, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"{what} must be a square matrix [D, D], got shape {g.shape}")
    if len(names) != len(g):
        raise ValueError(f"names must name the {len(g)} features of {what}, got {len(names)} names: {list(names)!r}")
    return g


def largest(gamma, hide_diagonal: bool = False) -> float:
    """max |Gamma_ij| (over i != j with ``hide_diagonal``): the colour limit that shows all of ``gamma``."""
    g = np.abs(np.asarray(gamma, dtype=np.float64))
    if hide_diagonal:
        g = g * (1 - np.eye(len(g)))
    return float(g.max(initial=0.0))


def draw_interactions(ax, gamma, names: Sequence[str], limit: float | None = None, hide_diagonal: bool = False,
                      annotate: bool = False):
    """Draw ``gamma`` [D, D] on ``ax`` from -``limit`` to +``limit`` (default: its own largest |entry|);
    ``hide_diagonal`` paints the diagonal grey, ``annotate`` writes each entry (3 significant digits).
    Returns the image, for a colourbar."""
    g = _matrix(gamma, names)
    limit = largest(g, hide_diagonal) if limit is None else float(limit)
    if not limit > 0:
        limit = 1.0   # an all-zero matrix: any scale shows it white
    shown = np.ma.masked_array(g, mask=np.eye(len(g), dtype=bool) if hide_diagonal else np.zeros_like(g, dtype=bool))
    image = ax.imshow(shown, cmap=colormaps[DIVERGING].with_extremes(bad=DIAGONAL_GREY), vmin=-limit, vmax=limit)
    ticks = np.arange(len(g))
    ax.set_xticks(ticks, names, rotation=45 if max(len(n) for n in names) > 2 else 0, ha="right" if
                  max(len(n) for n in names) > 2 else "center", fontsize=8)
    ax.set_yticks(ticks, names, fontsize=8)
    if annotate:
        norm = Normalize(-limit, limit, clip=True)
        for i in range(len(g)):
            for j in range(len(g)):
                dark = abs(norm(g[i, j]) - 0.5) > 0.3 and not (hide_diagonal and i == j)
                ax.text(j, i, f"{g[i, j]:.3g}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
    return image


def interactions_figure(panels: Sequence[tuple[object, Sequence[str], str]], hide_diagonal: bool = False,
                        annotate: bool = False, panel: float = 3.0, columns: int | None = None,
                        label: str = SCALE_LABEL):
    """Matrices side by side: ``panels`` = (gamma [D, D], names, title); one colour scale (the largest
    |entry| over all panels, off the diagonal with ``hide_diagonal``) and one colourbar."""
    if not panels:
        raise ValueError("panels must hold at least one (gamma, names, title)")
    matrices = [_matrix(g, names, f"panels[{k}]'s gamma") for k, (g, names, _) in enumerate(panels)]
    limit = max(largest(g, hide_diagonal) for g in matrices)
    columns = len(panels) if columns is None else columns
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel * columns + 1.0, panel * rows), squeeze=False,
                             layout="constrained")
    for ax, g, (_, names, title) in zip(axes.flat, matrices, panels):
        image = draw_interactions(ax, g, names, limit, hide_diagonal, annotate)
        ax.set_title(title, fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    fig.colorbar(image, ax=axes.ravel().tolist(), label=label + (" (diagonal in grey)" if hide_diagonal else ""),
                 shrink=0.8)
    return fig


def interactions_widget(tokens: Sequence[Sequence[str]], gammas: Sequence[object], titles: Sequence[str],
                        top: int = 3) -> SliderFigure:
    """Sliders: ``question`` (index) and ``diagonal`` (show the self-interactions or grey them out).

    ``gammas[i]`` is question i's token x token matrix [T_i, T_i]; all questions share one colour
    scale (with or without the diagonal). ``draw`` returns the question, its ``top`` strongest pairs
    ("a x b": Gamma), the sum of all entries (F(x) - F(x') by completeness) and the scale's limit.
    """
    if not len(tokens) == len(gammas) == len(titles) >= 1:
        raise ValueError(f"tokens, gammas and titles must have one entry per question (at least one), "
                         f"got {len(tokens)}, {len(gammas)} and {len(titles)}")
    matrices = [_matrix(g, t, f"gammas[{i}]") for i, (g, t) in enumerate(zip(gammas, tokens))]
    limits = {hide: max(largest(g, hide) for g in matrices) for hide in (True, False)}

    def draw(question: int, diagonal: bool) -> dict:
        words, g = list(tokens[question]), matrices[question]
        size = 2.2 + 0.32 * len(words)
        fig, ax = plt.subplots(figsize=(size + 1.4, size), layout="constrained")
        image = draw_interactions(ax, g, words, limits[not diagonal], hide_diagonal=not diagonal)
        ax.set_title(titles[question], fontsize=9, loc="left")
        fig.colorbar(image, ax=ax, label=SCALE_LABEL + ("" if diagonal else " (diagonal in grey)"), shrink=0.8)
        pairs = top_interactions(g, top)
        return {"question": " ".join(words),
                "top pairs": ", ".join(f"{words[i]} x {words[j]}: {v:.3g}" for i, j, v in pairs),
                "sum": float(g.sum()), "limit": limits[not diagonal]}

    return slider_figure(
        draw,
        question=widgets.IntSlider(value=0, min=0, max=len(tokens) - 1, description="question", continuous_update=False),
        diagonal=widgets.Checkbox(value=False, description="show the diagonal"),
    )
