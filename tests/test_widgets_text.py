"""The question slider and the token figures, driven without a browser."""
import matplotlib
import numpy as np
import pytest

from iglib.widgets.text import question_widget, questions_figure

matplotlib.use("Agg")

CLASSES = ("NUMERIC", "DATETIME", "YESNO", "STRING")
TOKENS = [["how", "many", "cats", "?"], ["who", "won", "?"]]
SCORES = [np.arange(16, dtype=float).reshape(4, 4) - 5, -np.arange(12, dtype=float).reshape(4, 3)]


def test_question_slider_shows_the_chosen_question_class_and_token():
    view = question_widget(TOKENS, SCORES, ["NUMERIC", "STRING"], ["NUMERIC", "YESNO"], CLASSES)
    first = dict(view.last)
    assert first == {"question": "how many cats ?", "label": "NUMERIC", "predicted": "NUMERIC", "target": "NUMERIC",
                     "token": "how", "token score": -5.0, "sum": float(SCORES[0][0].sum())}
    view.sliders["token"].value = 2
    assert view.last["token"] == "cats" and view.last["token score"] == -3.0
    view.sliders["target"].value = "STRING"
    assert view.last["target"] == "STRING" and view.last["token score"] == SCORES[0][3, 2]
    view.sliders["question"].value = 1
    assert view.last["question"] == "who won ?" and view.last["token"] == "?"          # token 2 is the last one
    view.sliders["target"].value = "predicted"
    assert view.last["target"] == "YESNO" and view.last["sum"] == float(SCORES[1][2].sum())
    view.sliders["token"].value = 3                                                    # past the end: the last token
    assert view.last["token"] == "?" and view.sliders["token"].max == 3


def test_question_slider_checks_shapes():
    with pytest.raises(ValueError, match="one entry per question"):
        question_widget(TOKENS, SCORES[:1], ["NUMERIC", "STRING"], ["NUMERIC", "YESNO"], CLASSES)
    with pytest.raises(ValueError, match=r"scores\[1\] must have shape"):
        question_widget(TOKENS, [SCORES[0], SCORES[1][:, :2]], ["NUMERIC", "STRING"], ["NUMERIC", "YESNO"], CLASSES)


def test_questions_figure_has_one_row_per_question_on_one_scale():
    import matplotlib.pyplot as plt

    fig = questions_figure([(TOKENS[0], SCORES[0][0], "first"), (TOKENS[1], SCORES[1][0], "second")])
    assert len(fig.axes) == 3 and fig.axes[1].get_title(loc="left") == "second"
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == TOKENS[0]
    # one colour scale over both rows (max |a| = 5, "how" in row 1 and "?" in row 2 are -5 and -2):
    # the diverging map at (1 + a / 5) / 2, and a colourbar from -5 to 5
    cmap = matplotlib.colormaps["RdBu_r"]
    boxes = [t.get_bbox_patch().get_facecolor() for t in fig.axes[0].texts]
    np.testing.assert_allclose(boxes[0], cmap(0.0))                     # -5: the blue end
    np.testing.assert_allclose(boxes[2], cmap((1 - 3 / 5) / 2))         # "cats": -3
    np.testing.assert_allclose(fig.axes[1].texts[2].get_bbox_patch().get_facecolor(), cmap((1 - 2 / 5) / 2))
    assert fig.axes[2].get_ylim() == (-5.0, 5.0)                       # the colourbar
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        questions_figure([])
