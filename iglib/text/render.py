"""Tokens coloured by their attribution: HTML for the notebooks, matplotlib for figures.

A token's score a_t is the sum of its IG over the embedding dimensions. Its colour is green
when a_t > 0 (it raises the score of the explained class), red when a_t < 0, and its opacity
is the intensity |a_t| / max_s |a_s| (or / ``max_abs`` to put several sentences on one scale),
so the most important token is fully coloured and a token with no attribution is blank.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

POSITIVE = (0.0, 0.6, 0.0)  # green: the token raises the score
NEGATIVE = (0.85, 0.0, 0.0)  # red: the token lowers the score
SKIP = ("<pad>",)


def _scores(tokens: Sequence[str], scores, skip: Sequence[str]) -> tuple[list[str], np.ndarray]:
    a = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64).reshape(-1)
    if len(a) != len(tokens):
        raise ValueError(f"tokens and scores must have the same length, got {len(tokens)} tokens and {len(a)} scores")
    if not np.isfinite(a).all():
        raise ValueError("scores must be finite (no nan or inf)")
    keep = [i for i, t in enumerate(tokens) if t not in skip]
    return [tokens[i] for i in keep], a[keep]


def intensities(scores, max_abs: float | None = None) -> np.ndarray:
    """|a_t| / max_abs, clipped to [0, 1]; ``max_abs`` defaults to max_s |a_s| (all zeros -> zeros)."""
    a = np.abs(np.asarray(scores, dtype=np.float64))
    top = float(a.max(initial=0.0)) if max_abs is None else float(max_abs)
    if top < 0:
        raise ValueError(f"max_abs must be >= 0, got {max_abs}")
    return np.clip(a / top, 0.0, 1.0) if top > 0 else np.zeros_like(a)


def token_colors(scores, max_abs: float | None = None) -> np.ndarray:
    """One RGBA colour per token, [T, 4]: green or red by sign, alpha = intensity."""
    a = np.asarray(scores, dtype=np.float64)
    rgb = np.where((a >= 0)[:, None], POSITIVE, NEGATIVE)
    return np.column_stack([rgb, intensities(a, max_abs)])


class TokenHTML(str):
    """Coloured tokens as an HTML string; displays as HTML in Jupyter and as the plain sentence
    in text outputs (stable for nbval)."""

    def __new__(cls, markup: str, text: str):
        obj = super().__new__(cls, markup)
        obj.text = text
        return obj

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return self.text


def tokens_html(tokens: Sequence[str], scores, max_abs: float | None = None, skip: Sequence[str] = SKIP) -> TokenHTML:
    """``<span>``s with the token colours as backgrounds; hover shows the score (``skip``: tokens left out)."""
    tokens, a = _scores(tokens, scores, skip)
    spans = []
    for token, score, (r, g, b, alpha) in zip(tokens, a, token_colors(a, max_abs)):
        style = (f"background-color: rgba({round(255 * r)}, {round(255 * g)}, {round(255 * b)}, {alpha:.3f}); "
                 "padding: 1px 3px; margin: 1px; border-radius: 3px; line-height: 1.9")
        spans.append(f'<span style="{style}" title="{score:+.4g}">{html.escape(token)}</span>')
    return TokenHTML('<div style="font-family: monospace">' + " ".join(spans) + "</div>", " ".join(tokens))


def plot_tokens(tokens: Sequence[str], scores, max_abs: float | None = None, line_chars: int = 60,
                fontsize: float = 12.0, title: str | None = None, skip: Sequence[str] = SKIP) -> Figure:
    """A figure of the tokens as coloured boxes in a row, wrapped after ``line_chars`` characters.

    The text is monospace, so the layout depends only on the token lengths (deterministic,
    no renderer measurements).
    """
    tokens, a = _scores(tokens, scores, skip)
    if line_chars < 1:
        raise ValueError(f"line_chars must be >= 1, got {line_chars}")
    positions, x, line = [], 0, 0
    for token in tokens:
        width = len(token) + 1
        if x > 0 and x + width > line_chars:
            x, line = 0, line + 1
        positions.append((x, line))
        x += width
    lines = line + 1
    char_inches = 0.6 * fontsize / 72  # DejaVu Sans Mono advance width is 0.6 em
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(max(line_chars, 1) * char_inches + 0.4, lines * 2.0 * fontsize / 72 + (0.4 if title else 0.2)))
    ax = fig.add_axes((0, 0, 1, 1) if not title else (0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    ax.set_xlim(-0.5, line_chars + 0.5)
    ax.set_ylim(lines - 0.5, -0.5)
    ax.set_axis_off()
    for token, (x, y), color in zip(tokens, positions, token_colors(a, max_abs)):
        ax.text(x, y, token, family="monospace", fontsize=fontsize, va="center", ha="left",
                bbox=dict(facecolor=tuple(color), edgecolor="none", boxstyle="round,pad=0.2"))
    if title:
        fig.suptitle(title, fontsize=fontsize)
    return fig
