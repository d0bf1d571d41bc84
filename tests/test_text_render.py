"""Coloured tokens: sign -> colour, |score| / max -> opacity, deterministic HTML and figures."""
import io

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from iglib.text.render import (
    NEGATIVE,
    POSITIVE,
    intensities,
    plot_tokens,
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


def test_colour_by_sign():
    colors = token_colors(np.array(SCORES))
    assert tuple(colors[0, :3]) == POSITIVE and tuple(colors[1, :3]) == NEGATIVE
    np.testing.assert_allclose(colors[:, 3], intensities(SCORES))


def test_html_is_deterministic_escaped_and_normalised():
    a = tokens_html(TOKENS, torch.tensor(SCORES))
    assert str(a) == str(tokens_html(TOKENS, SCORES))
    assert "<pad>" not in str(a) and "&lt;b&gt;" in str(a)
    assert "rgba(217, 0, 0, 1.000)" in str(a)  # "many": the largest |score|, negative
    assert "rgba(0, 153, 0, 0.500)" in str(a)  # "<b>": half of the largest, positive
    assert 'title="-2"' in str(a)
    assert repr(a) == "how many <b> won ?" and a._repr_html_() == str(a)  # plain text for nbval


def test_length_mismatch_and_nan_are_errors():
    with pytest.raises(ValueError, match="same length, got 2 tokens and 3 scores"):
        tokens_html(["a", "b"], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        tokens_html(["a"], [float("nan")])


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def test_figure_is_deterministic_wraps_and_uses_the_token_colours():
    fig = plot_tokens(TOKENS, SCORES, line_chars=10, title="NUMERIC")
    texts = fig.axes[0].texts
    assert [t.get_text() for t in texts] == TOKENS[:-1]
    boxes = np.array([t.get_bbox_patch().get_facecolor() for t in texts])
    np.testing.assert_allclose(boxes, token_colors(np.array(SCORES[:-1])))
    rows = [t.get_position()[1] for t in texts]
    assert rows == [0, 0, 1, 1, 1]  # "how many " is 9 characters; "<b>" wraps to the second line
    assert _png(fig) == _png(plot_tokens(TOKENS, SCORES, line_chars=10, title="NUMERIC"))
