"""Questions as coloured tokens, and a slider over them (notebook 09).

- :func:`draw_tokens`: one question's tokens on an axes, coloured by their IG in
  :data:`iglib.viz.DIVERGING` centred on zero (red raises the explained class's score, blue lowers
  it, white: no credit), one token framed;
- :func:`questions_figure`: several questions, one row each, on a common colour scale with its colourbar;
- :func:`question_widget`: sliders for the question, the class explained and the highlighted
  token, over IG precomputed for every class, so moving a slider only indexes arrays.
"""
from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..experiments.text.render import NEGATIVE, POSITIVE, colour_scale, ink_colors, token_colors
from . import SliderFigure, slider_figure


def draw_tokens(ax, tokens: Sequence[str], scores, max_abs: float | None = None, highlight: int | None = None,
                fontsize: float = 11.0, line_chars: int = 70) -> None:
    """Draw ``tokens`` as coloured boxes on ``ax`` (monospace, wrapped after ``line_chars``)."""
    a = np.asarray(scores, dtype=np.float64)
    if len(a) != len(tokens):
        raise ValueError(f"tokens and scores must have the same length, got {len(tokens)} and {len(a)}")
    x, line, positions = 0, 0, []
    for token in tokens:
        if x > 0 and x + len(token) + 1 > line_chars:
            x, line = 0, line + 1
        positions.append((x, line))
        x += len(token) + 1
    colours = zip(token_colors(a, max_abs), ink_colors(a, max_abs))
    for k, (token, (px, py), (color, ink)) in enumerate(zip(tokens, positions, colours)):
        edge = "black" if k == highlight else "none"
        ax.text(px, py, token, family="monospace", fontsize=fontsize, va="center", ha="left", color=ink,
                bbox=dict(facecolor=tuple(color), edgecolor=edge, linewidth=1.5, boxstyle="round,pad=0.2"))
    ax.set_xlim(-0.5, line_chars + 0.5)
    ax.set_ylim(line + 0.6, -0.6)
    ax.set_axis_off()


def questions_figure(rows: Sequence[tuple[Sequence[str], np.ndarray, str]], line_chars: int = 70):
    """One row per question: (tokens, scores [T], title); one colour scale (max |a_t| over all rows),
    drawn as a colourbar beside the rows."""
    if not rows:
        raise ValueError("rows must hold at least one (tokens, scores, title)")
    top = max(float(np.abs(np.asarray(s, dtype=np.float64)).max(initial=0.0)) for _, s, _ in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.11 * line_chars + 1.6, 0.85 * len(rows) + 0.3), squeeze=False,
                             layout="constrained")
    for ax, (tokens, scores, title) in zip(axes[:, 0], rows):
        draw_tokens(ax, tokens, scores, max_abs=top, line_chars=line_chars)
        ax.set_title(title, fontsize=9, loc="left")
    colour_scale(fig, axes[:, 0].tolist(), top if top > 0 else 1.0, label="a_t (IG of the token)", shrink=0.9)
    return fig


def question_widget(tokens: Sequence[Sequence[str]], scores: Sequence[np.ndarray], labels: Sequence[str],
                    predicted: Sequence[str], class_names: Sequence[str]) -> SliderFigure:
    """Sliders: ``question`` (index), ``target`` (the class explained, ``"predicted"`` or one of
    ``class_names``) and ``token`` (the token highlighted; past the end, the last token).

    ``scores[i]`` is question i's IG for every class, [len(class_names), T_i]; ``labels[i]`` its
    label from the answer, ``predicted[i]`` the model's class. ``draw`` returns the question, the
    classes, the highlighted token with its score, and the sum of the scores.
    """
    if not len(tokens) == len(scores) == len(labels) == len(predicted) >= 1:
        raise ValueError(f"tokens, scores, labels and predicted must have one entry per question (at least one), "
                         f"got {len(tokens)}, {len(scores)}, {len(labels)} and {len(predicted)}")
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    for i, (t, s) in enumerate(zip(tokens, scores)):
        if s.shape != (len(class_names), len(t)):
            raise ValueError(f"scores[{i}] must have shape {(len(class_names), len(t))} (classes, tokens), got {s.shape}")

    def draw(question: int, target: str, token: int) -> dict:
        words = list(tokens[question])
        cls = predicted[question] if target == "predicted" else target
        a = scores[question][list(class_names).index(cls)]
        k = min(token, len(words) - 1)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 3.6), height_ratios=(1, 2))
        draw_tokens(top, words, a, highlight=k)
        top.set_title(f"IG for {cls} (label from the answer: {labels[question]}, predicted: {predicted[question]})",
                      fontsize=9, loc="left")
        colors = [POSITIVE if v >= 0 else NEGATIVE for v in a]   # the token strip's two ends
        bars = bottom.bar(np.arange(len(words)), a, color=colors)
        bars[k].set_edgecolor("black")
        bars[k].set_linewidth(2)
        bottom.axhline(0, color="grey", lw=0.8)
        bottom.set_xticks(np.arange(len(words)), words, rotation=45, ha="right", fontsize=8)
        bottom.set_ylabel("a_t: IG (sum over embedding)", fontsize=8)
        fig.tight_layout()
        return {"question": " ".join(words), "label": labels[question], "predicted": predicted[question],
                "target": cls, "token": words[k], "token score": float(a[k]), "sum": float(a.sum())}

    longest = max(len(t) for t in tokens)
    return slider_figure(
        draw,
        question=widgets.IntSlider(value=0, min=0, max=len(tokens) - 1, description="question", continuous_update=False),
        target=widgets.Dropdown(options=["predicted", *class_names], value="predicted", description="explain"),
        token=widgets.IntSlider(value=0, min=0, max=longest - 1, description="token", continuous_update=False),
    )
