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
    assert len(fig.axes) == 2 and fig.axes[1].get_title(loc="left") == "second"
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == TOKENS[0]
    # one colour scale: the most intense box over both rows is fully opaque, "how" (|-5| of max 5) too
    alphas = [t.get_bbox_patch().get_facecolor()[3] for t in fig.axes[0].texts]
    assert alphas[0] == pytest.approx(1.0) and alphas[2] == pytest.approx(3 / 5)
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        questions_figure([])
