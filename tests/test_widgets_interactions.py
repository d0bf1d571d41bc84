"""The interaction matrices and their question slider, driven without a browser."""
import matplotlib
import numpy as np
import pytest

from iglib.widgets.interactions import draw_interactions, interactions_figure, interactions_widget

matplotlib.use("Agg")

TOKENS = [["how", "many", "cats", "?"], ["who", "won", "?"]]
GAMMAS = [np.array([[3.0, 0.5, 0.1, 0.0], [0.5, 2.0, -0.2, 0.0], [0.1, -0.2, 1.0, 0.05], [0.0, 0.0, 0.05, 0.1]]),
          np.array([[-4.0, -0.3, 0.0], [-0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])]


def test_slider_shows_each_question_on_one_shared_scale():
    view = interactions_widget(TOKENS, GAMMAS, ["first", "second"])
    assert view.last == {"question": "how many cats ?", "top pairs": "how x many: 0.5, many x cats: -0.2, how x cats: 0.1",
                         "sum": float(GAMMAS[0].sum()), "limit": 0.5}   # the diagonal greyed: the largest pair of both
    view.sliders["question"].value = 1
    assert view.last["question"] == "who won ?" and view.last["top pairs"].startswith("who x won: -0.3")
    assert view.last["limit"] == 0.5 and view.last["sum"] == pytest.approx(GAMMAS[1].sum())
    view.sliders["diagonal"].value = True
    assert view.last["limit"] == 4.0                                     # now the diagonal sets the scale


def test_slider_checks_its_arguments():
    with pytest.raises(ValueError, match="one entry per question"):
        interactions_widget(TOKENS, GAMMAS[:1], ["first", "second"])
    with pytest.raises(ValueError, match=r"names must name the 3 features of gammas\[1\], got 2 names"):
        interactions_widget([TOKENS[0], ["who", "won"]], GAMMAS, ["first", "second"])
    with pytest.raises(ValueError, match=r"gammas\[0\] must be a square matrix"):
        interactions_widget(TOKENS[:1], [GAMMAS[0][:3]], ["first"])


def test_figure_draws_every_panel_on_one_symmetric_scale_with_a_grey_diagonal():
    import matplotlib.pyplot as plt

    fig = interactions_figure([(GAMMAS[0], TOKENS[0], "a"), (GAMMAS[1], TOKENS[1], "b")], hide_diagonal=True)
    images = [ax.images[0] for ax in fig.axes[:2]]
    assert all(im.get_clim() == (-0.5, 0.5) for im in images)           # one scale: the largest pair, symmetric
    assert images[0].get_cmap().name.startswith("RdBu_r")
    assert np.ma.getmaskarray(images[1].get_array()).tolist() == np.eye(3, dtype=bool).tolist()
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == TOKENS[1]
    assert fig.axes[2].get_ylim() == (-0.5, 0.5)                          # the colourbar
    plt.close(fig)
    fig, ax = plt.subplots()
    draw_interactions(ax, np.zeros((2, 2)), ["x1", "x2"], annotate=True)  # all zero: still drawn, on a unit scale
    assert ax.images[0].get_clim() == (-1.0, 1.0) and [t.get_text() for t in ax.texts] == ["0"] * 4
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        interactions_figure([])
