"""Coloured tokens: the collection's diverging map centred on zero, deterministic HTML and figures with a scale."""

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import colormaps

from iglib import viz
from iglib.experiments.text.render import (
    NEGATIVE,
    POSITIVE,
    colour_scale,
    intensities,
    scale_html,
    token_colors,
    tokens_html,
)

TOKENS = ["how", "many", "<b>", "won", "?", "<pad>"]
SCORES = [0.5, -2.0, 1.0, 0.0, 0.25, 0.0]


def test_intensity_is_abs_score_over_the_max():
    np.testing.assert_allclose(intensities(SCORES), [0.25, 1.0, 0.5, 0.0, 0.125, 0.0])
    np.testing.assert_allclose(intensities(SCORES, max_abs=1.0), [0.5, 1.0, 1.0, 0.0, 0.25, 0.0])  # clipped
    assert np.all(intensities([0.0, 0.0]) == 0)
    with pytest.raises(ValueError, match="max_abs must be >= 0"):
        intensities(SCORES, max_abs=-1)


def test_colour_is_the_diverging_map_centred_on_zero():
    cmap = colormaps[viz.DIVERGING]
    assert viz.DIVERGING == "RdBu_r" and POSITIVE == tuple(cmap(1.0)[:3]) and NEGATIVE == tuple(cmap(0.0)[:3])
    assert POSITIVE[0] > POSITIVE[2] and NEGATIVE[2] > NEGATIVE[0]   # positive credit red, negative blue
    colors = token_colors(np.array(SCORES))           # max |a| = 2: a -> (1 + a / 2) / 2
    for a, c in zip(SCORES, colors):
        np.testing.assert_allclose(c, cmap((1 + a / 2) / 2))
    assert tuple(colors[1, :3]) == NEGATIVE and np.all(colors[:, 3] == 1)
    np.testing.assert_allclose(token_colors([0.0])[0], cmap(0.5))   # no credit: the map's white centre
    np.testing.assert_allclose(token_colors([3.0, -1.0], max_abs=1.0), [cmap(1.0), cmap(0.0)])  # clipped
    np.testing.assert_allclose(token_colors([0.25], max_abs=0.5)[0], cmap(0.75))
    with pytest.raises(ValueError, match="max_abs must be >= 0, got -1"):
        token_colors(SCORES, max_abs=-1)


def test_colour_scale_spans_minus_to_plus_max_abs():
    fig, ax = plt.subplots()
    bar = colour_scale(fig, ax, 0.8)
    assert bar.mappable.norm.vmin == -0.8 and bar.mappable.norm.vmax == 0.8
    assert bar.mappable.get_cmap().name == viz.DIVERGING and "a_t" in bar.ax.get_ylabel()
    plt.close(fig)
    strip = scale_html(0.8)
    assert "-0.8" in strip and "+0.8" in strip and strip.count("<span") == 9
    with pytest.raises(ValueError, match="max_abs must be > 0"):
        scale_html(0.0)


def test_html_is_deterministic_escaped_and_normalised():
    a = tokens_html(TOKENS, torch.tensor(SCORES))
    assert str(a) == str(tokens_html(TOKENS, SCORES))
    assert "<pad>" not in str(a) and "&lt;b&gt;" in str(a)
    blue, light_red = (np.round(255 * np.array(colormaps[viz.DIVERGING](v)[:3])).astype(int) for v in (0.0, 0.75))
    assert f"rgb({blue[0]}, {blue[1]}, {blue[2]}); color: white" in str(a)  # "many": the largest |score|, negative
    assert f"rgb({light_red[0]}, {light_red[1]}, {light_red[2]}); color: black" in str(a)  # "<b>": half of it, positive
    assert "-2 " in str(a) and "+2 " in str(a)  # the legend strip's ends
    assert "+2 " not in str(tokens_html(TOKENS, SCORES, scale=False))
    assert 'title="-2"' in str(a)
    assert repr(a) == "how many <b> won ?" and a._repr_html_() == str(a)  # plain text for nbval


def test_length_mismatch_and_nan_are_errors():
    with pytest.raises(ValueError, match="same length, got 2 tokens and 3 scores"):
        tokens_html(["a", "b"], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        tokens_html(["a"], [float("nan")])
