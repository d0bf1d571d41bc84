"""The output-token slider of the translation experiment (notebook 10).

Pick a sentence and an output (German) token; the source (English) tokens are coloured by how
much that token's log-probability draws on them (its row of the attribution matrix, in
:data:`iglib.viz.DIVERGING` on the matrix's scale: red raises it, blue lowers it), and the
matrix is drawn beside them with the row marked and a colourbar. Every matrix is computed before the widget,
so moving the slider only indexes it.
"""
from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..experiments.text.render import colour_scale, ink_colors, token_colors
from ..experiments.text.translation import AttributionMatrix
from ..viz import DIVERGING
from . import SliderFigure, slider_figure


def output_token_widget(matrices: Sequence[AttributionMatrix], names: Sequence[str] | None = None) -> SliderFigure:
    """Sliders: ``sentence`` (one of ``matrices``) and ``output`` (the output token's position; clipped
    to the sentence's length). ``draw`` returns the output token, its source scores and the source token
    it draws on most."""
    if not matrices:
        raise ValueError("matrices must hold at least one attribution matrix")
    names = list(names) if names is not None else [" ".join(m.source) for m in matrices]
    if len(names) != len(matrices):
        raise ValueError(f"names must name each of the {len(matrices)} matrices, got {len(names)}")

    def draw(sentence: int, output: int) -> dict:
        att = matrices[sentence]
        j = min(output, len(att.output) - 1)
        row = att.matrix[j].numpy().astype(np.float64)
        a = att.matrix.numpy()
        top = max(float(np.abs(a).max()), 1e-12)
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * len(att.output) + 1.6),
                                          gridspec_kw={"width_ratios": [1.3, 1]}, layout="constrained")
        left.set_axis_off()
        left.set_xlim(0, 1)
        left.set_ylim(0, 1)
        left.text(0.0, 0.85, f"output token {j + 1}/{len(att.output)}: \"{att.output[j]}\"", fontsize=12)
        x = 0.0
        for token, color, ink in zip(att.source, token_colors(row, top), ink_colors(row, top)):   # the matrix's scale
            left.text(x, 0.5, token, family="monospace", fontsize=12, va="center", color=ink,
                      bbox=dict(facecolor=tuple(color), edgecolor="0.7", boxstyle="round,pad=0.2"))
            x += 0.022 * (len(token) + 2)
        left.text(0.0, 0.2, "red: raises log p(token), blue: lowers it; the matrix's colour scale", fontsize=9)
        right.imshow(a, cmap=DIVERGING, vmin=-top, vmax=top)
        colour_scale(fig, right, top, label="A[j, i] (nats of log p)", shrink=0.8)
        right.axhline(j, color="k", lw=0.8, ls=":")
        right.add_patch(plt.Rectangle((-0.5, j - 0.5), len(att.source), 1, fill=False, edgecolor="k", lw=1.5))
        right.set_xticks(range(len(att.source)), att.source, rotation=45, ha="right")
        right.set_yticks(range(len(att.output)), att.output)
        best = int(np.argmax(row))
        return {"sentence": names[sentence], "position": j, "output token": att.output[j],
                "scores": [float(v) for v in row], "top source": att.source[best],
                "sum": float(row.sum())}

    longest = max(len(m.output) for m in matrices)
    return slider_figure(
        draw,
        sentence=widgets.Dropdown(options=[(n, k) for k, n in enumerate(names)], value=0, description="sentence"),
        output=widgets.IntSlider(value=0, min=0, max=longest - 1, description="output token",
                                 continuous_update=False),
    )
