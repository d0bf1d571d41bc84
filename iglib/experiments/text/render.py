"""Tokens coloured by their attribution: HTML for the notebooks, with a matplotlib colourbar for figures.

A token's score a_t is the sum of its IG over the embedding dimensions. Its colour is the
collection's diverging map :data:`iglib.viz.DIVERGING` (red: a_t > 0, the token raises the score of
the explained class; blue: a_t < 0), centred on zero and scaled by ``max_abs`` (default max_s |a_s|;
pass one value to put several sentences on one scale): the colour of a_t is the map at
(1 + a_t / max_abs) / 2, so the most important token is fully coloured and a token with no
attribution is white. :func:`colour_scale` draws the matching colourbar, :func:`scale_html` the
matching legend strip for HTML.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from ...viz import DIVERGING

POSITIVE = tuple(colormaps[DIVERGING](1.0)[:3])  # the map's positive end (red): the token raises the score
NEGATIVE = tuple(colormaps[DIVERGING](0.0)[:3])  # its negative end (blue): the token lowers the score
SKIP = ("<pad>",)
SCORE_LABEL = "a_t: the token's IG (summed over its embedding)"


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


def _top(scores, max_abs: float | None) -> float:
    """The scale's limit: ``max_abs``, or max_s |a_s| (1 when all scores are zero)."""
    a = np.abs(np.asarray(scores, dtype=np.float64))
    if max_abs is not None and max_abs < 0:
        raise ValueError(f"max_abs must be >= 0, got {max_abs}")
    top = float(a.max(initial=0.0)) if max_abs is None else float(max_abs)
    return top if top > 0 else 1.0


def token_colors(scores, max_abs: float | None = None) -> np.ndarray:
    """One opaque RGBA colour per token, [T, 4]: ``DIVERGING`` at (1 + a_t / max_abs) / 2, clipped
    (red for positive credit, blue for negative, white for none)."""
    a = np.asarray(scores, dtype=np.float64).reshape(-1)
    return colormaps[DIVERGING](Normalize(-_top(a, max_abs), _top(a, max_abs), clip=True)(a))


def ink_colors(scores, max_abs: float | None = None) -> list[str]:
    """The text colour on each token's box: white on the dark ends of the map, else black."""
    return ["white" if v > 0.6 else "black" for v in intensities(scores, max_abs)]


def colour_scale(fig: Figure, ax, max_abs: float, label: str = SCORE_LABEL, **kwargs):
    """A colourbar of ``DIVERGING`` from -max_abs to +max_abs beside ``ax`` (an axes or a list of
    them), the scale the token colours were drawn on. ``kwargs`` go to ``fig.colorbar``."""
    from matplotlib.cm import ScalarMappable

    if not max_abs > 0:
        raise ValueError(f"max_abs must be > 0 for a colour scale, got {max_abs}")
    mappable = ScalarMappable(Normalize(-max_abs, max_abs), cmap=DIVERGING)
    return fig.colorbar(mappable, ax=ax, label=label, **kwargs)


def scale_html(max_abs: float, label: str = "a_t", steps: int = 9) -> str:
    """An HTML legend strip for :func:`tokens_html`: ``steps`` boxes from -max_abs to +max_abs in
    the token colours, numbered at the ends and the centre."""
    if not max_abs > 0:
        raise ValueError(f"max_abs must be > 0 for a colour scale, got {max_abs}")
    values = np.linspace(-max_abs, max_abs, steps)
    boxes = "".join(
        f'<span style="background-color: rgb({round(255 * r)}, {round(255 * g)}, {round(255 * b)}); '
        f'display: inline-block; width: 1.6em">&nbsp;</span>'
        for r, g, b, _ in token_colors(values, max_abs))
    return (f'<div style="font-family: monospace; font-size: 85%">{html.escape(label)}: {-max_abs:+.3g} {boxes} '
            f"{max_abs:+.3g} (white: 0)</div>")


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


def tokens_html(tokens: Sequence[str], scores, max_abs: float | None = None, skip: Sequence[str] = SKIP,
                scale: bool = True) -> TokenHTML:
    """``<span>``s with the token colours as backgrounds; hover shows the score (``skip``: tokens left out);
    with ``scale``, the legend strip (:func:`scale_html`) below them."""
    tokens, a = _scores(tokens, scores, skip)
    spans = []
    for token, score, (r, g, b, _), ink in zip(tokens, a, token_colors(a, max_abs), ink_colors(a, max_abs)):
        style = (f"background-color: rgb({round(255 * r)}, {round(255 * g)}, {round(255 * b)}); color: {ink}; "
                 "padding: 1px 3px; margin: 1px; border-radius: 3px; line-height: 1.9")
        spans.append(f'<span style="{style}" title="{score:+.4g}">{html.escape(token)}</span>')
    legend = scale_html(_top(a, max_abs)) if scale else ""
    return TokenHTML('<div style="font-family: monospace">' + " ".join(spans) + "</div>" + legend, " ".join(tokens))
